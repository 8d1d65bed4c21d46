package host

import (
	"encoding/json"

	"github.com/crmsync/crmsync/shared/funchost"
)

func jsonIndent(c funchost.Config) (string, error) {
	b, err := json.MarshalIndent(c, "", "  ")
	return string(b), err
}
