package cluster

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"time"
)

// certValidity is how long every certificate of a cluster is valid; long enough for a
// demo cluster left running, and the clock skew allowance covers a slightly late clock.
const (
	certValidity  = 365 * 24 * time.Hour
	certClockSkew = time.Hour
)

// certAuthority signs the certificates of one cluster: the API server's serving
// certificate, the client certificates of users, and serving certificates of webhooks
// the API server must trust.
type certAuthority struct {
	cert    *x509.Certificate
	key     crypto.Signer
	certPEM []byte
	now     func() time.Time
}

// certRequest says what a certificate is for. A client certificate carries the user in
// the common name and the groups as organizations, which is how the API server reads them.
type certRequest struct {
	commonName   string
	organization []string
	dnsNames     []string
	ips          []net.IP
	usage        x509.ExtKeyUsage
}

// keyPair is a certificate and its private key, both PEM encoded.
type keyPair struct {
	certPEM []byte
	keyPEM  []byte
}

func newCertAuthority(commonName string, now func() time.Time) (*certAuthority, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating the CA key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	t := now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName},
		NotBefore:             t.Add(-certClockSkew),
		NotAfter:              t.Add(certValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("self-signing the CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parsing the CA certificate: %w", err)
	}
	return &certAuthority{
		cert:    cert,
		key:     key,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		now:     now,
	}, nil
}

// issue creates a fresh key and a certificate for it signed by the authority.
func (ca *certAuthority) issue(req certRequest) (keyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return keyPair{}, fmt.Errorf("generating a key for %q: %w", req.commonName, err)
	}
	serial, err := randomSerial()
	if err != nil {
		return keyPair{}, err
	}
	t := ca.now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: req.commonName, Organization: req.organization},
		DNSNames:     req.dnsNames,
		IPAddresses:  req.ips,
		NotBefore:    t.Add(-certClockSkew),
		NotAfter:     t.Add(certValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{req.usage},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		return keyPair{}, fmt.Errorf("signing the certificate of %q: %w", req.commonName, err)
	}
	keyPEM, err := encodeECKey(key)
	if err != nil {
		return keyPair{}, err
	}
	return keyPair{
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  keyPEM,
	}, nil
}

// issueClient returns a client certificate for user in groups.
func (ca *certAuthority) issueClient(user string, groups []string) (keyPair, error) {
	return ca.issue(certRequest{commonName: user, organization: groups, usage: x509.ExtKeyUsageClientAuth})
}

// issueServing returns a serving certificate valid for hosts, each a DNS name or an IP.
func (ca *certAuthority) issueServing(hosts []string) (keyPair, error) {
	if len(hosts) == 0 {
		return keyPair{}, fmt.Errorf("a serving certificate needs at least one host name or IP address")
	}
	req := certRequest{commonName: hosts[0], usage: x509.ExtKeyUsageServerAuth}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			req.ips = append(req.ips, ip)
		} else {
			req.dnsNames = append(req.dnsNames, h)
		}
	}
	return ca.issue(req)
}

func encodeECKey(key *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encoding a private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
}

// newServiceAccountKey returns the key the API server signs service-account tokens with,
// and its public half for verifying them.
func newServiceAccountKey() (privatePEM, publicPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generating the service-account key: %w", err)
	}
	privatePEM, err = encodeECKey(key)
	if err != nil {
		return nil, nil, err
	}
	pub, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return nil, nil, fmt.Errorf("encoding the service-account public key: %w", err)
	}
	return privatePEM, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), nil
}

func randomSerial() (*big.Int, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("drawing a certificate serial number: %w", err)
	}
	return serial, nil
}

// tlsCertificate turns a key pair into what a Go TLS server serves.
func (kp keyPair) tlsCertificate() (tls.Certificate, error) {
	c, err := tls.X509KeyPair(kp.certPEM, kp.keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("loading a generated key pair: %w", err)
	}
	return c, nil
}
