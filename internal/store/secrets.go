package store

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"opencrvs-mosip/internal/bridge"
)

// sealedPrefix starts every value a Sealer seals: "v2:<key id>:<base64 of
// nonce and AES-256-GCM ciphertext>", with the key id and the row (the
// transaction id) as additional data. "v1:" values, sealed before the row
// was bound, bind the key id only; they still open, and Rotate re-seals
// them. A stored value with neither prefix is plaintext from before
// encryption (Rotate seals those too).
const (
	sealedPrefix   = "v2:"
	sealedPrefixV1 = "v1:"
)

// Sealer encrypts the secrets the store keeps (the OpenCRVS record tokens)
// with AES-256-GCM. It holds a current key, which seals, and older keys,
// which still open what they sealed until Rotate re-seals it. The key id
// and the row are bound to each value as additional data, so a value
// cannot be moved to another key id, nor copied to another transaction
// (whoever can write the database cannot give one record's token to
// another).
type Sealer struct {
	current string
	aeads   map[string]cipher.AEAD
}

var keyIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// ParseKeys reads STORE_ENCRYPTION_KEY: comma-separated "<key id>:<base64
// of 32 random bytes>", the current key first, then older keys kept for
// reading.
func ParseKeys(spec string) (*Sealer, error) {
	s := &Sealer{aeads: map[string]cipher.AEAD{}}
	for i, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		id, b64, ok := strings.Cut(part, ":")
		if !ok || !keyIDPattern.MatchString(id) {
			return nil, fmt.Errorf("key %d: want <key id>:<base64 key>, the id of letters, digits, _ or - (generate one with `opencrvs-mosip keys generate`)", i+1)
		}
		key, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(key) != 32 {
			return nil, fmt.Errorf("key %q: want the base64 of 32 random bytes", id)
		}
		if _, dup := s.aeads[id]; dup {
			return nil, fmt.Errorf("key id %q appears twice", id)
		}
		block, _ := aes.NewCipher(key)
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		s.aeads[id] = aead
		if i == 0 {
			s.current = id
		}
	}
	return s, nil
}

// GenerateKey returns a new key line for STORE_ENCRYPTION_KEY.
func GenerateKey(id string) (string, error) {
	if !keyIDPattern.MatchString(id) {
		return "", fmt.Errorf("key id %q: use letters, digits, _ or -, at most 32", id)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return "", err
	}
	return id + ":" + base64.StdEncoding.EncodeToString(key), nil
}

// CurrentKeyID is the id of the key that seals.
func (s *Sealer) CurrentKeyID() string { return s.current }

// Seal encrypts plain, the secret of row, with the current key.
func (s *Sealer) Seal(row, plain string) string {
	aead := s.aeads[s.current]
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic("store: no randomness for a nonce: " + err.Error())
	}
	out := aead.Seal(nonce, nonce, []byte(plain), boundData(s.current, row))
	return sealedPrefix + s.current + ":" + base64.RawStdEncoding.EncodeToString(out)
}

// boundData is the additional data of a v2 value: the key id and the row,
// NUL-separated (neither holds a NUL: key ids are checked, row ids are
// the mediator's own).
func boundData(keyID, row string) []byte { return []byte(keyID + "\x00" + row) }

// errUnknownKey: a value sealed with a key the Sealer does not hold.
var errUnknownKey = errors.New("sealed with a key STORE_ENCRYPTION_KEY does not hold")

// Open decrypts row's sealed value; a value that is not sealed is returned
// as it is (plaintext stored before encryption), with sealed false.
func (s *Sealer) Open(row, stored string) (plain string, sealed bool, err error) {
	v2, id, b64, sealed, ok := parseSealed(stored)
	if !sealed {
		return stored, false, nil
	}
	if !ok {
		return "", true, errors.New("malformed sealed value")
	}
	aead, ok := s.aeads[id]
	if !ok {
		return "", true, fmt.Errorf("key %q: %w (add it after the current key)", id, errUnknownKey)
	}
	raw, err := base64.RawStdEncoding.DecodeString(b64)
	if err != nil || len(raw) < aead.NonceSize() {
		return "", true, errors.New("malformed sealed value")
	}
	ad := []byte(id)
	if v2 {
		ad = boundData(id, row)
	}
	p, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], ad)
	if err != nil {
		return "", true, fmt.Errorf("key %q: the value does not decrypt (wrong key, tampered, or copied from another row)", id)
	}
	return string(p), true, nil
}

// parseSealed splits a stored value into its version (v2, or v1), key id
// and base64 payload. sealed is false for plaintext; ok is false for a
// sealed value without the colon after its key id.
func parseSealed(stored string) (v2 bool, keyID, payload string, sealed, ok bool) {
	rest, v2 := strings.CutPrefix(stored, sealedPrefix)
	if !v2 {
		if rest, sealed = strings.CutPrefix(stored, sealedPrefixV1); !sealed {
			return false, "", "", false, false
		}
	}
	keyID, payload, ok = strings.Cut(rest, ":")
	return v2, keyID, payload, true, ok
}

// keyIDOf returns the key id a stored value is sealed with ("" when it is
// plaintext).
func keyIDOf(stored string) string {
	_, id, _, _, _ := parseSealed(stored)
	return id
}

// isCurrent reports whether a stored value is sealed as Seal seals now: with
// the current key, bound to its row.
func (s *Sealer) isCurrent(stored string) bool {
	v2, id, _, _, _ := parseSealed(stored)
	return v2 && id == s.current
}

// seal is what the store writes for transaction id's token: sealed when
// the store has a Sealer ("" stays "": no token).
func (s *Store) seal(id, token string) string {
	if token == "" || s.sealer == nil {
		return token
	}
	return s.sealer.Seal(id, token)
}

// openToken decrypts a transaction's token as read from the database.
func (s *Store) openToken(t *bridge.Transaction) error {
	if t.Token == "" {
		return nil
	}
	if s.sealer == nil {
		// A tool without the key (tx list, migrate) never uses tokens: it
		// sees none rather than ciphertext.
		if keyIDOf(t.Token) != "" {
			t.Token = ""
		}
		return nil
	}
	plain, _, err := s.sealer.Open(t.ID, t.Token)
	if err != nil {
		return &bridge.Error{Code: bridge.EInternal, Message: "transaction " + t.ID + ": the OpenCRVS token cannot be read: " + err.Error(), Err: err}
	}
	t.Token = plain
	return nil
}

// Rotate seals every stored token with the current key, bound to its row:
// tokens sealed with older keys or before the row was bound, and plaintext
// ones from before encryption. It returns how many it re-sealed;
// afterwards older keys can be dropped from STORE_ENCRYPTION_KEY.
func (s *Store) Rotate(ctx context.Context) (int, error) {
	if s.sealer == nil {
		return 0, errors.New("store: no STORE_ENCRYPTION_KEY: nothing to rotate to")
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT id, token FROM transactions WHERE token IS NOT NULL`)
	if err != nil {
		return 0, unavailable("read tokens", err)
	}
	type item struct{ id, token string }
	var todo []item
	for rows.Next() {
		var it item
		if err := rows.Scan(&it.id, &it.token); err != nil {
			rows.Close()
			return 0, unavailable("read tokens", err)
		}
		if !s.sealer.isCurrent(it.token) {
			todo = append(todo, it)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, unavailable("read tokens", err)
	}
	n := 0
	for start := 0; start < len(todo); start += 500 {
		batch := todo[start:min(start+500, len(todo))]
		err := s.InDurableTx(ctx, func(tx *Tx) error {
			for _, it := range batch {
				plain, _, err := s.sealer.Open(it.id, it.token)
				if err != nil {
					return fmt.Errorf("store: transaction %s: %w", it.id, err)
				}
				// Only if unchanged meanwhile (a resend may have replaced it).
				res, err := tx.tx.ExecContext(ctx, `UPDATE transactions SET token = $1 WHERE id = $2 AND token = $3`,
					s.sealer.Seal(it.id, plain), it.id, it.token)
				if err != nil {
					return unavailable("re-seal token", err)
				}
				if k, _ := res.RowsAffected(); k == 1 {
					n++
				}
			}
			return nil
		})
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
