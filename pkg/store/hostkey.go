package store

import (
	"bytes"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

var keySSHHostKey = []byte("ssh-host-key")

// HostKey is the SSH server's saved private host key (PEM), or nil when
// none was saved yet. It lives in the meta bucket: one small value that
// must survive restarts, like IOS's `crypto key generate` key in NVRAM.
func (s *Store) HostKey() ([]byte, error) {
	var out []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketMeta); b != nil {
			out = bytes.Clone(b.Get(keySSHHostKey))
		}
		return nil
	})
	return out, err
}

// SaveHostKey stores the SSH host key (PEM).
func (s *Store) SaveHostKey(pem []byte) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		return b.Put(keySSHHostKey, pem)
	})
	if err != nil {
		return fmt.Errorf("store: saving the SSH host key to %s failed: %w", s.path, err)
	}
	return nil
}
