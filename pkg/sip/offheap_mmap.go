//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package sip

import "syscall"

// mapMemory returns n zeroed bytes of anonymous private memory outside the
// Go heap (keptstore.go says why); plain heap memory if the kernel refuses.
func mapMemory(n int) []byte {
	b, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return make([]byte, n)
	}
	return b
}

// unmapMemory gives back what mapMemory returned. For heap memory (the
// fallback) Munmap finds no mapping and does nothing.
func unmapMemory(b []byte) {
	if len(b) > 0 {
		_ = syscall.Munmap(b)
	}
}
