//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package sip

// Without anonymous mappings the kept responses live on the Go heap
// (keptstore.go): correct, only counted by the garbage collector.
func mapMemory(n int) []byte { return make([]byte, n) }

func unmapMemory([]byte) {}
