package cli

import (
	"fmt"
	"io"
)

// runKeysDemo makes the key material of a demonstration with the
// simulators (deploy/compose/demo.yml runs it once before the others): the
// development partner keystore, which the MOSIP simulator encrypts
// credentials to and the mediator decrypts them with, and a
// STORE_ENCRYPTION_KEY file. Files that exist are kept, so a restarted
// demo still reads its database. Never for production: the keystore's
// password is a published constant.
func runKeysDemo(args []string, stdout, stderr io.Writer) error {
	fs := flags("keys demo", "keys demo [--dir DIR]\n\nWrites DIR/partner.p12 (password "+devP12Password+") and DIR/store-key.txt unless they exist. For demonstrations with the simulators only.", stderr)
	dir := fs.String("dir", "data", "directory for the keys")
	if err := parse(fs, args); err != nil {
		return err
	}
	storeKey, err := devStoreKey(*dir)
	if err != nil {
		return err
	}
	_, p12, err := devPartnerKey(*dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "demo keys ready:\n  DECRYPT_P12_FILE_PATH=%s (DECRYPT_P12_FILE_PASSWORD=%s)\n  STORE_ENCRYPTION_KEY_FILE=%s\n", p12, devP12Password, storeKey)
	return nil
}
