// Command cmed is a Cisco CME-style call-control daemon: SCCP and SIP
// phones, BLF presence, and an IOS-like CLI.
package main

import "os"

func main() {
	os.Exit(execute(os.Args[1:], os.Stdout, os.Stderr))
}
