// Command findchrome prints the path of the Chrome or Chromium that the
// headless browser tests will drive, found exactly as the tests find it
// (shared/testenv.LocateChromium). `make test` runs it before the tests; it
// exits 1 with the reason on stderr when there is no browser.
package main

import (
	"fmt"
	"os"

	"github.com/crmsync/crmsync/shared/testenv"
)

func main() {
	p, err := testenv.LocateChromium(testenv.ThisMachine())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(p)
}
