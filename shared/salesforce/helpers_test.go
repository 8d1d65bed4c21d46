package salesforce

import (
	"errors"
	"time"

	"github.com/crmsync/crmsync/shared/fault"
)

func errorsAs(err error, fe **fault.Error) bool { return errors.As(err, fe) }

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}
