package config

import (
	"crypto/md5"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
)

// Secrets (`enable secret`, `username NAME secret`) are kept hashed, as IOS
// does: a secret typed in clear (`secret WORD` or `secret 0 WORD`) is hashed
// on entry and show running-config prints only the hash with its type
// number (`secret 8 $8$...`). Accepted hash types are IOS's:
//
//	5  $1$SALT$HASH  MD5-crypt (legacy; verified, never produced)
//	8  $8$SALT$HASH  PBKDF2-HMAC-SHA256, 20000 rounds (what cmed produces:
//	                 the standard library has PBKDF2, the core may not use
//	                 x/crypto)
//	9  $9$SALT$HASH  scrypt N=16384 r=1 p=1 (verified by pkg/cli, which may
//	                 import x/crypto; see cli.VerifySecret)
//
// The encoding of types 8 and 9 is base64 with the crypt alphabet
// "./0-9A-Za-z", no padding, and a 14-character salt.

// SecretType is the IOS type number of a stored secret: 5, 8 or 9, or 0 for
// a secret that is not hashed (only a Config built in code has one).
func SecretType(s string) int {
	switch {
	case strings.HasPrefix(s, "$1$"):
		return 5
	case strings.HasPrefix(s, "$8$"):
		return 8
	case strings.HasPrefix(s, "$9$"):
		return 9
	}
	return 0
}

// CryptEncoding is the base64 variant Cisco type 8/9 secrets use.
var CryptEncoding = base64.NewEncoding("./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz").WithPadding(base64.NoPadding)

const (
	type8Rounds = 20000
	saltLen     = 14
)

// NewSalt is a random 14-character crypt-alphabet salt.
func NewSalt() string {
	var b [saltLen]byte
	rand.Read(b[:])
	return CryptEncoding.EncodeToString(b[:])[:saltLen]
}

// HashSecret hashes a clear-text secret as IOS type 8.
func HashSecret(clear string) string { return hashType8(clear, NewSalt()) }

func hashType8(clear, salt string) string {
	key, _ := pbkdf2.Key(sha256.New, clear, []byte(salt), type8Rounds, 32)
	return "$8$" + salt + "$" + CryptEncoding.EncodeToString(key)
}

// storeSecret is how a typed secret is kept: type 0 or no type is clear
// text and is hashed now with hash (nil: HashSecret); 5/8/9 must already
// look like that hash.
func storeSecret(typ, value string, hash func(string) string) (string, error) {
	switch typ {
	case "", "0":
		if hash == nil {
			hash = HashSecret
		}
		return hash(value), nil
	case "5", "8", "9":
		if SecretType(value) != atoi(typ) || strings.Count(value, "$") != 3 {
			return "", cmdErr(fmt.Sprintf("a type %s secret looks like $%s$SALT$HASH; type the password in clear as \"secret 0 PASSWORD\"", typ, map[string]string{"5": "1", "8": "8", "9": "9"}[typ]),
				"Invalid secret")
		}
		return value, nil
	}
	return "", cmdErr("use 0 (clear), 5, 8 or 9", "Invalid encryption type %s", typ)
}

// renderSecret is the show running-config form: "TYPE HASH". A secret
// that is not hashed (a Config built in code) is hashed here, so clear text
// never reaches the output.
func renderSecret(s string) string {
	if SecretType(s) == 0 {
		s = HashSecret(s)
	}
	return fmt.Sprintf("%d %s", SecretType(s), s)
}

// VerifySecret checks clear against a stored secret of type 5 or 8, or a
// clear one. ok is false for a mismatch; known is false for type 9, which
// the caller must check itself (pkg/cli does, with scrypt).
func VerifySecret(stored, clear string) (ok, known bool) {
	switch SecretType(stored) {
	case 0:
		return subtle.ConstantTimeCompare([]byte(stored), []byte(clear)) == 1, true
	case 8:
		parts := strings.Split(stored, "$") // "", "8", salt, hash
		if len(parts) != 4 {
			return false, true
		}
		return subtle.ConstantTimeCompare([]byte(hashType8(clear, parts[2])), []byte(stored)) == 1, true
	case 5:
		parts := strings.Split(stored, "$") // "", "1", salt, hash
		if len(parts) != 4 {
			return false, true
		}
		return subtle.ConstantTimeCompare([]byte(MD5Crypt(clear, parts[2])), []byte(stored)) == 1, true
	}
	return false, false
}

// MD5Crypt is the FreeBSD/IOS "$1$" MD5-based crypt (IOS type 5 secrets).
func MD5Crypt(password, salt string) string {
	if len(salt) > 8 {
		salt = salt[:8]
	}
	const magic = "$1$"
	alt := md5.Sum([]byte(password + salt + password))
	ctx := md5.New()
	ctx.Write([]byte(password + magic + salt))
	for i := len(password); i > 0; i -= 16 {
		ctx.Write(alt[:min(i, 16)])
	}
	for i := len(password); i > 0; i >>= 1 {
		if i&1 != 0 {
			ctx.Write([]byte{0})
		} else {
			ctx.Write([]byte{password[0]})
		}
	}
	final := ctx.Sum(nil)
	for i := range 1000 {
		c := md5.New()
		if i&1 != 0 {
			c.Write([]byte(password))
		} else {
			c.Write(final)
		}
		if i%3 != 0 {
			c.Write([]byte(salt))
		}
		if i%7 != 0 {
			c.Write([]byte(password))
		}
		if i&1 != 0 {
			c.Write(final)
		} else {
			c.Write([]byte(password))
		}
		final = c.Sum(nil)
	}
	const itoa64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	var out strings.Builder
	enc := func(v uint32, n int) {
		for ; n > 0; n-- {
			out.WriteByte(itoa64[v&0x3f])
			v >>= 6
		}
	}
	f := final
	enc(uint32(f[0])<<16|uint32(f[6])<<8|uint32(f[12]), 4)
	enc(uint32(f[1])<<16|uint32(f[7])<<8|uint32(f[13]), 4)
	enc(uint32(f[2])<<16|uint32(f[8])<<8|uint32(f[14]), 4)
	enc(uint32(f[3])<<16|uint32(f[9])<<8|uint32(f[15]), 4)
	enc(uint32(f[4])<<16|uint32(f[10])<<8|uint32(f[5]), 4)
	enc(uint32(f[11]), 2)
	return magic + salt + "$" + out.String()
}
