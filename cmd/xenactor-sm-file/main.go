// Command xenactor-sm-file is the file storage plugin (package
// fileplugin): run as Volume.create, Datapath.attach, ... through the
// symlinks of a plugin directory, which "xenactor-sm-file install <dir>"
// makes.
package main

import (
	"os"

	"github.com/xenactor/xenactor/hostio/storage/fileplugin"
)

func main() {
	os.Exit(fileplugin.Main(os.Args, os.Stdin, os.Stdout, os.Stderr))
}
