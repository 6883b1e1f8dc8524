package tftp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"strings"
)

// Handler opens the files a read request names. It returns the content as
// an io.ReaderAt plus its size, known up front because the tsize option
// (RFC 2349) and the last-block rule need it. If the returned value also
// implements io.Closer the server closes it when the transfer ends.
//
// Return ErrNotFound (or an error wrapping fs.ErrNotExist) for a file that
// is not served: the server answers error 1 at once, so a phone probing for
// CTLSEP<MAC>.tlv never waits for a timeout (docs/sccp.md §Boot-order). ErrAccessViolation
// or fs.ErrPermission map to error 2; any other error to error 0.
//
// The signature uses only stdlib types so that an adaptor in cmd/cmed can
// implement it without this package importing any cmed package.
type Handler interface {
	Open(ctx context.Context, name string, from netip.AddrPort) (io.ReaderAt, int64, error)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, name string, from netip.AddrPort) (io.ReaderAt, int64, error)

// Open calls f.
func (f HandlerFunc) Open(ctx context.Context, name string, from netip.AddrPort) (io.ReaderAt, int64, error) {
	return f(ctx, name, from)
}

// Chain tries handlers in order and returns the first answer that is not a
// not-found error. The daemon puts the generated phone files (pkg/phonecfg)
// in front of the firmware directory this way.
func Chain(handlers ...Handler) Handler {
	return HandlerFunc(func(ctx context.Context, name string, from netip.AddrPort) (io.ReaderAt, int64, error) {
		for _, h := range handlers {
			if h == nil {
				continue
			}
			r, size, err := h.Open(ctx, name, from)
			if isNotFound(err) {
				continue
			}
			return r, size, err
		}
		return nil, 0, ErrNotFound
	})
}

// LookupHandler serves in-memory files from a lookup function such as
// phonecfg's (*Files).Lookup. Names are checked with CleanName first.
func LookupHandler(lookup func(name string) ([]byte, bool)) Handler {
	return HandlerFunc(func(_ context.Context, name string, _ netip.AddrPort) (io.ReaderAt, int64, error) {
		clean, err := CleanName(name)
		if err != nil {
			return nil, 0, err
		}
		b, ok := lookup(clean)
		if !ok {
			return nil, 0, ErrNotFound
		}
		return bytes.NewReader(b), int64(len(b)), nil
	})
}

func isNotFound(err error) bool {
	return errors.Is(err, ErrNotFound) || errors.Is(err, fs.ErrNotExist)
}

// CleanName validates a requested file name and returns it as a relative,
// slash-separated path. It refuses (with ErrAccessViolation) anything that
// could name a file outside the served root or be read differently by
// another layer: empty names, absolute paths, ".." or "." or empty
// components, backslashes (Windows separators, which some clients send),
// NUL and control bytes, and '%' (no layer decodes percent escapes, so a
// name containing one is a trick or a mistake; firmware names never have
// one). Phones ask for plain names such as "SEP001122334455.cnf.xml".
func CleanName(name string) (string, error) {
	if name == "" || len(name) > 255 {
		return "", ErrAccessViolation
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c < 0x20 || c == 0x7f || c == '\\' || c == '%' || c == ':' {
			return "", ErrAccessViolation
		}
	}
	if name[0] == '/' {
		return "", ErrAccessViolation
	}
	for part := range strings.SplitSeq(name, "/") {
		if part == "" || part == "." || part == ".." {
			return "", ErrAccessViolation
		}
	}
	return name, nil
}

// DirHandler serves regular files below one directory. It opens them
// through os.Root, so a symlink (or any other trick) that resolves outside
// the directory fails instead of escaping it.
type DirHandler struct {
	root *os.Root
}

// NewDirHandler opens dir as the served root. Close releases it.
func NewDirHandler(dir string) (*DirHandler, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	return &DirHandler{root: root}, nil
}

// Close releases the root directory.
func (h *DirHandler) Close() error { return h.root.Close() }

// Open implements Handler. Names are matched exactly first; when that
// fails, a name in the top directory is matched case-insensitively, because
// phones vary the case of MAC-based names (docs/sccp.md §Boot-order item 6).
func (h *DirHandler) Open(_ context.Context, name string, _ netip.AddrPort) (io.ReaderAt, int64, error) {
	clean, err := CleanName(name)
	if err != nil {
		return nil, 0, err
	}
	f, err := h.root.Open(clean)
	if errors.Is(err, fs.ErrNotExist) && !strings.Contains(clean, "/") {
		if alt, ok := h.findFold(clean); ok {
			f, err = h.root.Open(alt)
		}
	}
	if err != nil {
		if isNotFound(err) {
			return nil, 0, ErrNotFound
		}
		// Escapes from the root surface as a plain *PathError; treat every
		// other open failure as a refusal rather than leaking details.
		return nil, 0, ErrAccessViolation
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		f.Close()
		return nil, 0, ErrNotFound
	}
	return f, st.Size(), nil
}

// findFold looks for a top-level entry whose name equals name ignoring case.
func (h *DirHandler) findFold(name string) (string, bool) {
	d, err := h.root.Open(".")
	if err != nil {
		return "", false
	}
	defer d.Close()
	// Bounded: a firmware directory holds at most a few thousand files.
	names, err := d.Readdirnames(10000)
	if err != nil && !errors.Is(err, io.EOF) {
		return "", false
	}
	for _, n := range names {
		if strings.EqualFold(n, name) {
			return n, true
		}
	}
	return "", false
}
