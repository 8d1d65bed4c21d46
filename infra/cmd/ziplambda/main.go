// Command ziplambda packages crmsync's Lambda binary: it checks that the file
// is a Linux arm64 executable (what the provided.al2023 arm64 runtime runs) and
// writes a zip holding exactly one entry, "bootstrap", with the executable bit
// set — Lambda refuses to start a bootstrap it cannot execute, and `zip` is not
// installed everywhere.
//
//	ziplambda -o dist/lambda.zip dist/lambda/bootstrap
package main

import (
	"archive/zip"
	"bytes"
	"debug/elf"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "ziplambda:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("ziplambda", flag.ContinueOnError)
	out := fs.String("o", "dist/lambda.zip", "zip file to write")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: ziplambda -o <zip> <bootstrap binary>")
	}
	bin, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return err
	}
	if err := checkBinary(bin); err != nil {
		return fmt.Errorf("%s: %w", fs.Arg(0), err)
	}
	var buf bytes.Buffer
	if err := writeZip(&buf, bin); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (bootstrap, %d bytes)\n", *out, len(bin))
	return nil
}

// checkBinary accepts only a Linux (or OS-neutral) arm64 ELF executable.
func checkBinary(bin []byte) error {
	f, err := elf.NewFile(bytes.NewReader(bin))
	if err != nil {
		return fmt.Errorf("not an ELF executable (build it with GOOS=linux): %v", err)
	}
	defer f.Close()
	if f.Machine != elf.EM_AARCH64 {
		return fmt.Errorf("built for %s, want arm64 (GOARCH=arm64)", f.Machine)
	}
	if f.OSABI != elf.ELFOSABI_NONE && f.OSABI != elf.ELFOSABI_LINUX {
		return fmt.Errorf("built for OS ABI %s, want Linux", f.OSABI)
	}
	if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		return fmt.Errorf("ELF type %s is not an executable", f.Type)
	}
	return nil
}

// buildTime is fixed so the same binary always gives the same zip.
var buildTime = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// writeZip writes the one-entry archive Lambda expects for a custom runtime.
func writeZip(w io.Writer, bin []byte) error {
	zw := zip.NewWriter(w)
	hdr := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate, Modified: buildTime}
	hdr.SetMode(0o755)
	fw, err := zw.CreateHeader(hdr)
	if err != nil {
		return err
	}
	if _, err := fw.Write(bin); err != nil {
		return err
	}
	return zw.Close()
}
