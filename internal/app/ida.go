package app

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net/http"
	"os"

	"opencrvs-mosip/internal/ida"
	"opencrvs-mosip/internal/mosip"
)

// newIDAClient builds the IDA client of /verify and /events/review, or nil
// when IDA_AUTH_URL is not set (identity verification is off).
func newIDAClient(cfg Config, httpClient *http.Client, log *slog.Logger) (*ida.Client, error) {
	if cfg.IDAAuthURL == "" {
		log.Info("identity verification is off: IDA_AUTH_URL is not set (POST /verify and /events/review answer 404)")
		return nil, nil
	}
	cert, err := readCertificatePEM(cfg.IDAEncryptCert)
	if err != nil {
		return nil, fmt.Errorf("ENCRYPT_CERT_PATH: %w", err)
	}
	signer, err := mosip.LoadPKCS12(cfg.IDASignP12, cfg.IDASignPassword)
	if err != nil {
		return nil, fmt.Errorf("SIGN_P12_FILE_PATH: %w", err)
	}
	c, err := ida.New(ida.Config{
		AuthURL: cfg.IDAAuthURL, MISPLicenseKey: cfg.PartnerMISPLK, PartnerID: cfg.PartnerID, APIKey: cfg.PartnerAPIKey,
		DomainURI: cfg.IDADomainURI, EncryptCert: cert, Signer: signer, HTTPClient: httpClient, Logger: log,
	})
	if err != nil {
		return nil, fmt.Errorf("IDA configuration: %w", err)
	}
	return c, nil
}

// readCertificatePEM reads the first certificate of a PEM file.
func readCertificatePEM(path string) (*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, fmt.Errorf("%s holds no PEM certificate", path)
		}
		if block.Type == "CERTIFICATE" {
			return x509.ParseCertificate(block.Bytes)
		}
	}
}
