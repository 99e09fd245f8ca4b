// Command postern is a self-hosted, S3-compatible object store for secure,
// time-limited sharing.
//
//	postern server [flags]    run the server (see `postern server -h`)
//	postern presign s3://B/K  print a presigned URL
//	postern presign-post …    print a presigned POST form
//	postern share create|list|show|revoke …   tracked share links (docs/api.md)
//	postern admin account create --id 12DIGITS   create an account (prints its root keys)
//	postern migrate --from DATA --meta postgres://… --blobs DIR   copy an embedded deployment
//	postern version           print the version
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/postern/postern/internal/server"
)

var version = "dev"

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "server":
		err = server.Main(os.Args[2:])
	case "presign":
		err = runPresign(os.Args[2:], os.Stdout, os.Stderr)
	case "presign-post":
		err = runPresignPost(os.Args[2:], os.Stdout, os.Stderr)
	case "share":
		err = runShare(os.Args[2:], os.Stdout, os.Stderr)
		if errors.Is(err, flag.ErrHelp) {
			return
		}
	case "admin":
		err = runAdmin(os.Args[2:], os.Stdout, os.Stderr)
	case "migrate":
		err = server.MigrateMain(os.Args[2:], os.Stderr)
	case "version":
		fmt.Println("postern", version)
	case "-h", "--help", "help":
		usage()
	default:
		fmt.Fprintf(os.Stderr, "postern: unknown command %q\n", os.Args[1])
		usage()
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "postern:", err)
		var ue usageError
		if errors.As(err, &ue) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprint(os.Stderr, `Usage: postern <command> [flags]

Commands:
  server        run the S3-compatible server
  presign       print a presigned URL for one request: presign s3://BUCKET/KEY [--method M] [--expires-in D]
  presign-post  print a presigned browser POST upload form as JSON
  share         tracked share links you can list, limit and revoke:
                share create s3://BUCKET/KEY [--max-uses N] | list | show ID | revoke ID
  admin         operator commands: admin account create --id 12DIGITS [--endpoint-url URL]
  migrate       copy an embedded deployment into PostgreSQL and shared storage:
                migrate --from DATA_DIR --meta postgres://… --blobs DIR (resumable)
  version       print the version

Run 'postern server -h' for the server's settings.
`)
}
