package seal_test

import "os"

// exampleDir gives the example a private directory; examples get no t.TempDir.
func exampleDir() string {
	d, err := os.MkdirTemp("", "seal-example-")
	if err != nil {
		panic(err)
	}
	return d
}
