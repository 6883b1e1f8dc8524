package cli

import (
	"crypto/subtle"
	"strings"

	"github.com/cmed-project/cmed/pkg/config"
	"golang.org/x/crypto/scrypt"
)

// VerifySecret checks a typed password against a stored secret of any type
// IOS uses (0 clear, 5 MD5-crypt, 8 PBKDF2, 9 scrypt). It is the one place
// logins and `enable` check passwords.
func VerifySecret(stored, clear string) bool {
	if ok, known := config.VerifySecret(stored, clear); known {
		return ok
	}
	// Type 9: $9$SALT$HASH, scrypt N=2^14 r=1 p=1, 32 bytes, crypt base64.
	parts := strings.Split(stored, "$")
	if len(parts) != 4 || parts[1] != "9" {
		return false
	}
	key, err := scrypt.Key([]byte(clear), []byte(parts[2]), 1<<14, 1, 1, 32)
	if err != nil {
		return false
	}
	want := config.CryptEncoding.EncodeToString(key)
	return subtle.ConstantTimeCompare([]byte(want), []byte(parts[3])) == 1
}

// HashType9 hashes clear as an IOS type 9 (scrypt) secret; for tests and
// tools that want to write one.
func HashType9(clear, salt string) string {
	key, _ := scrypt.Key([]byte(clear), []byte(salt), 1<<14, 1, 1, 32)
	return "$9$" + salt + "$" + config.CryptEncoding.EncodeToString(key)
}

// Authenticate checks a login against the running config's `username`
// lines and returns the user's privilege level.
func Authenticate(cfg *config.Config, user, password string) (privilege int, ok bool) {
	for _, u := range cfg.Users {
		if u.Name == user {
			if VerifySecret(u.Secret, password) {
				return u.Privilege, true
			}
			return 0, false
		}
	}
	// Spend the same time on an unknown user, so timing does not reveal
	// which names exist.
	config.VerifySecret("$8$00000000000000$x", password)
	return 0, false
}
