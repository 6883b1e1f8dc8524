// Package store keeps cmed's durable state in one bbolt file: the saved
// startup-config (the last N versions of `write memory`, with timestamps),
// the call history behind the phones' Missed/Placed/Received lists, and a
// schema version.
//
// Every write is one bbolt read-write transaction, which bbolt commits
// atomically and fsyncs before returning, so a crash (even kill -9) leaves
// either the old or the new state, never a mix. The API speaks only stdlib
// types so that adapters (cli, sccp) can depend on small interfaces that
// *Store satisfies without importing this package.
package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// SchemaVersion is the layout version written into the meta bucket. A file
// with a higher version was written by a newer cmed and is refused rather
// than misread.
const SchemaVersion = 1

var (
	bucketMeta    = []byte("meta")
	bucketConfig  = []byte("startup-config")
	bucketHistory = []byte("call-history")
	keySchema     = []byte("schema")
)

// Defaults for the retention limits.
const (
	DefaultConfigVersions  = 10
	DefaultHistoryPerPhone = 100 // per phone and per kind (missed/placed/received)
)

// ErrLocked means another process holds the database open.
var ErrLocked = errors.New("database is locked by another process")

// Options tunes Open.
type Options struct {
	// ConfigVersions is how many `write memory` versions are kept.
	ConfigVersions int
	// HistoryPerPhone bounds each phone's list of each kind.
	HistoryPerPhone int
	// LockTimeout is how long Open waits for another process to let go.
	LockTimeout time.Duration
	// ReadOnly opens the file without write access (for inspection).
	ReadOnly bool
}

// Store is an open database. Its methods are safe for concurrent use.
type Store struct {
	db   *bolt.DB
	path string
	opts Options
}

// Open opens (creating if needed) the database at path. Errors say what is
// wrong with the file and what to do; a corrupt file never panics.
func Open(path string, opts Options) (s *Store, err error) {
	if opts.ConfigVersions <= 0 {
		opts.ConfigVersions = DefaultConfigVersions
	}
	if opts.HistoryPerPhone <= 0 {
		opts.HistoryPerPhone = DefaultHistoryPerPhone
	}
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = time.Second
	}
	if !opts.ReadOnly {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("store: cannot create the directory for %s: %w", path, err)
		}
	}
	// bbolt panics on some kinds of corruption while it mmaps and reads the
	// meta pages; turn that into an error the operator can act on.
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("store: %s is corrupt (%v); move it aside and restart to begin with the default config, or restore a backup", path, r)
		}
	}()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.LockTimeout, ReadOnly: opts.ReadOnly})
	if err != nil {
		switch {
		case errors.Is(err, bolterrors.ErrTimeout):
			return nil, fmt.Errorf("store: %s: %w (is another cmed running? stop it or pass --db with another file)", path, ErrLocked)
		case errors.Is(err, bolterrors.ErrInvalid), errors.Is(err, bolterrors.ErrChecksum), errors.Is(err, bolterrors.ErrVersionMismatch):
			return nil, fmt.Errorf("store: %s is not a usable cmed database (%v); move it aside and restart, or restore a backup", path, err)
		case errors.Is(err, syscall.EACCES) || errors.Is(err, os.ErrPermission):
			return nil, fmt.Errorf("store: cannot open %s: permission denied; run cmed as the file's owner or pass --db with a writable path", path)
		}
		return nil, fmt.Errorf("store: cannot open %s: %w", path, err)
	}
	s = &Store{db: db, path: path, opts: opts}
	if opts.ReadOnly {
		if err := s.checkSchema(); err != nil {
			db.Close()
			return nil, err
		}
		return s, nil
	}
	if err := s.init(); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) checkSchema() error {
	return s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketMeta)
		if b == nil {
			return nil
		}
		return schemaOK(s.path, b.Get(keySchema))
	})
}

func schemaOK(path string, v []byte) error {
	if v == nil {
		return nil
	}
	if len(v) != 4 {
		return fmt.Errorf("store: %s has a damaged schema record; move it aside and restart", path)
	}
	if got := binary.BigEndian.Uint32(v); got > SchemaVersion {
		return fmt.Errorf("store: %s was written by a newer cmed (schema %d, this build knows %d); upgrade cmed or use another --db", path, got, SchemaVersion)
	}
	return nil
}

func (s *Store) init() error {
	return s.db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		if err := schemaOK(s.path, meta.Get(keySchema)); err != nil {
			return err
		}
		var v [4]byte
		binary.BigEndian.PutUint32(v[:], SchemaVersion)
		if err := meta.Put(keySchema, v[:]); err != nil {
			return err
		}
		for _, name := range [][]byte{bucketConfig, bucketHistory} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	})
}

// Path is the file this store was opened from.
func (s *Store) Path() string { return s.path }

// Close releases the file. It is safe to call more than once.
func (s *Store) Close() error {
	if s == nil || s.db == nil {
		return nil
	}
	err := s.db.Close()
	if errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
		return nil
	}
	return err
}

// ConfigVersion is one saved startup-config.
type ConfigVersion struct {
	Seq   uint64    `json:"seq"`
	Saved time.Time `json:"saved"`
	Text  string    `json:"text"`
}

// SaveStartupConfig stores text as the new startup-config, keeping the last
// Options.ConfigVersions versions. When it returns nil the text is on disk.
func (s *Store) SaveStartupConfig(text string, at time.Time) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketConfig)
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		val, err := json.Marshal(ConfigVersion{Seq: seq, Saved: at.UTC(), Text: text})
		if err != nil {
			return err
		}
		if err := b.Put(u64key(seq), val); err != nil {
			return err
		}
		// Trim the oldest versions beyond the limit.
		return trimOldest(b, s.opts.ConfigVersions)
	})
	if err != nil {
		return fmt.Errorf("store: saving the startup-config to %s failed: %w", s.path, err)
	}
	return nil
}

// StartupConfig returns the newest saved startup-config; ok is false when
// nothing was ever saved.
func (s *Store) StartupConfig() (v ConfigVersion, ok bool, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketConfig)
		if b == nil {
			return nil
		}
		k, val := b.Cursor().Last()
		if k == nil {
			return nil
		}
		if err := json.Unmarshal(val, &v); err != nil {
			return fmt.Errorf("store: startup-config record %x in %s is damaged: %w", k, s.path, err)
		}
		ok = true
		return nil
	})
	return v, ok, err
}

// StartupConfigVersions lists the saved versions, newest first.
func (s *Store) StartupConfigVersions() ([]ConfigVersion, error) {
	var out []ConfigVersion
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketConfig)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, val := c.Last(); k != nil; k, val = c.Prev() {
			var v ConfigVersion
			if err := json.Unmarshal(val, &v); err != nil {
				return fmt.Errorf("store: startup-config record %x is damaged: %w", k, err)
			}
			out = append(out, v)
		}
		return nil
	})
	return out, err
}

// CallKind is which call list a history record belongs to.
type CallKind string

const (
	Missed   CallKind = "missed"
	Placed   CallKind = "placed"
	Received CallKind = "received"
)

// CallRecord is one entry of a phone's call lists.
type CallRecord struct {
	Phone    string        `json:"phone"` // device name, e.g. SEP001122334401
	Kind     CallKind      `json:"kind"`
	Number   string        `json:"number"` // the other party
	Name     string        `json:"name,omitempty"`
	Line     string        `json:"line,omitempty"` // our DN number
	Start    time.Time     `json:"start"`
	Duration time.Duration `json:"duration,omitempty"`
}

// AppendCallRecords adds records in one transaction, trimming each phone's
// list of that kind to Options.HistoryPerPhone.
func (s *Store) AppendCallRecords(recs ...CallRecord) error {
	if len(recs) == 0 {
		return nil
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		root := tx.Bucket(bucketHistory)
		for _, r := range recs {
			if r.Phone == "" || r.Kind == "" {
				return fmt.Errorf("call record needs a phone and a kind: %+v", r)
			}
			b, err := root.CreateBucketIfNotExists([]byte(r.Phone + "/" + string(r.Kind)))
			if err != nil {
				return err
			}
			seq, err := b.NextSequence()
			if err != nil {
				return err
			}
			val, err := json.Marshal(r)
			if err != nil {
				return err
			}
			if err := b.Put(u64key(seq), val); err != nil {
				return err
			}
			if err := trimOldest(b, s.opts.HistoryPerPhone); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: saving call history to %s failed: %w", s.path, err)
	}
	return nil
}

// CallRecords returns a phone's list of one kind, newest first.
func (s *Store) CallRecords(phone string, kind CallKind) ([]CallRecord, error) {
	var out []CallRecord
	err := s.db.View(func(tx *bolt.Tx) error {
		root := tx.Bucket(bucketHistory)
		if root == nil {
			return nil
		}
		b := root.Bucket([]byte(phone + "/" + string(kind)))
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, val := c.Last(); k != nil; k, val = c.Prev() {
			var r CallRecord
			if err := json.Unmarshal(val, &r); err != nil {
				return fmt.Errorf("store: call record %x of %s is damaged: %w", k, phone, err)
			}
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

// AllCallRecords returns every phone's history, grouped by phone then kind,
// oldest first, for loading call lists at start-up.
func (s *Store) AllCallRecords() ([]CallRecord, error) {
	var out []CallRecord
	err := s.db.View(func(tx *bolt.Tx) error {
		root := tx.Bucket(bucketHistory)
		if root == nil {
			return nil
		}
		return root.ForEachBucket(func(name []byte) error {
			return root.Bucket(name).ForEach(func(k, val []byte) error {
				var r CallRecord
				if err := json.Unmarshal(val, &r); err != nil {
					return fmt.Errorf("store: call record %s/%x is damaged: %w", name, k, err)
				}
				out = append(out, r)
				return nil
			})
		})
	})
	return out, err
}

// trimOldest deletes the lowest keys (the oldest sequence numbers) until at
// most keep remain. Stats() cannot be used for the count: it does not see
// the writes of the open transaction.
func trimOldest(b *bolt.Bucket, keep int) error {
	n := 0
	c := b.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		n++
	}
	var old [][]byte
	for k, _ := c.First(); k != nil && n-len(old) > keep; k, _ = c.Next() {
		old = append(old, append([]byte(nil), k...))
	}
	for _, k := range old {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

func u64key(n uint64) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], n)
	return k[:]
}
