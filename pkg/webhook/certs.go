package webhook

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"slices"
	"time"
)

// certBackdate is subtracted from every NotBefore so that an API server whose clock
// runs a little behind ours still accepts a certificate made a moment ago.
const certBackdate = time.Hour

// ErrBadCertificate is wrapped by every failure to read a stored certificate or key.
var ErrBadCertificate = errors.New("bad certificate")

// keyPair is a certificate with its private key, parsed and PEM encoded.
type keyPair struct {
	cert    *x509.Certificate
	key     crypto.Signer
	certPEM []byte
	keyPEM  []byte
}

// servingHosts are the names a serving certificate must carry.
type servingHosts struct {
	dnsNames []string
	ips      []net.IP
}

// newCA makes a self-signed certificate authority valid for validity from now.
func newCA(commonName string, now time.Time, validity time.Duration) (keyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return keyPair{}, fmt.Errorf("generating the CA key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return keyPair{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName},
		NotBefore:             now.Add(-certBackdate),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	return sign(tmpl, tmpl, key, key)
}

// newServingCert makes a serving certificate for hosts signed by ca, valid for
// validity from now but never beyond the CA itself.
func newServingCert(ca keyPair, hosts servingHosts, now time.Time, validity time.Duration) (keyPair, error) {
	if len(hosts.dnsNames) == 0 && len(hosts.ips) == 0 {
		return keyPair{}, errors.New("a serving certificate needs at least one DNS name or IP address")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return keyPair{}, fmt.Errorf("generating the serving key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return keyPair{}, err
	}
	cn := ""
	if len(hosts.dnsNames) > 0 {
		cn = hosts.dnsNames[0]
	} else {
		cn = hosts.ips[0].String()
	}
	notAfter := now.Add(validity)
	if notAfter.After(ca.cert.NotAfter) {
		notAfter = ca.cert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		DNSNames:     hosts.dnsNames,
		IPAddresses:  hosts.ips,
		NotBefore:    now.Add(-certBackdate),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	return sign(tmpl, ca.cert, key, ca.key)
}

func sign(tmpl, parent *x509.Certificate, key *ecdsa.PrivateKey, parentKey crypto.Signer) (keyPair, error) {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
	if err != nil {
		return keyPair{}, fmt.Errorf("signing the certificate of %q: %w", tmpl.Subject.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return keyPair{}, fmt.Errorf("parsing the certificate of %q: %w", tmpl.Subject.CommonName, err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return keyPair{}, fmt.Errorf("encoding the key of %q: %w", tmpl.Subject.CommonName, err)
	}
	return keyPair{
		cert:    cert,
		key:     key,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}, nil
}

func randomSerial() (*big.Int, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("drawing a certificate serial number: %w", err)
	}
	return serial, nil
}

// parseKeyPair reads a PEM certificate (the first of the data) and its PEM private key.
func parseKeyPair(certPEM, keyPEM []byte) (keyPair, error) {
	certs, err := parseCerts(certPEM)
	if err != nil {
		return keyPair{}, err
	}
	block, _ := pem.Decode(keyPEM)
	if block == nil {
		return keyPair{}, fmt.Errorf("%w: no PEM private key", ErrBadCertificate)
	}
	var key any
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		err = fmt.Errorf("PEM block type %q is not a private key", block.Type)
	}
	if err != nil {
		return keyPair{}, fmt.Errorf("%w: %w", ErrBadCertificate, err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return keyPair{}, fmt.Errorf("%w: private key of type %T cannot sign", ErrBadCertificate, key)
	}
	pub, ok := signer.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(certs[0].PublicKey) {
		return keyPair{}, fmt.Errorf("%w: the private key does not belong to the certificate %q",
			ErrBadCertificate, certs[0].Subject.CommonName)
	}
	first, _ := pem.Decode(certPEM)
	return keyPair{
		cert:    certs[0],
		key:     signer,
		certPEM: pem.EncodeToMemory(first),
		keyPEM:  keyPEM,
	}, nil
}

// parseCerts reads every PEM certificate of data; there must be at least one.
func parseCerts(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadCertificate, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("%w: no PEM certificate", ErrBadCertificate)
	}
	return certs, nil
}

// renewAt is when a certificate is due for renewal: once two thirds of its life have
// passed, which leaves a third of it to push the new one everywhere.
func renewAt(c *x509.Certificate) time.Time {
	life := c.NotAfter.Sub(c.NotBefore)
	return c.NotBefore.Add(life - life/3)
}

// coveredBy reports whether the certificate names exactly the wanted hosts, in any order.
func (h servingHosts) coveredBy(c *x509.Certificate) bool {
	if len(c.DNSNames) != len(h.dnsNames) || len(c.IPAddresses) != len(h.ips) {
		return false
	}
	for _, n := range h.dnsNames {
		if !slices.Contains(c.DNSNames, n) {
			return false
		}
	}
	for _, ip := range h.ips {
		if !slices.ContainsFunc(c.IPAddresses, ip.Equal) {
			return false
		}
	}
	return true
}

// signedBy reports whether c was issued by ca.
func signedBy(c, ca *x509.Certificate) bool {
	return bytes.Equal(c.RawIssuer, ca.RawSubject) && c.CheckSignatureFrom(ca) == nil
}

// tlsCertificate turns the pair into what a Go TLS server serves.
func (kp keyPair) tlsCertificate() (*tls.Certificate, error) {
	c, err := tls.X509KeyPair(kp.certPEM, kp.keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadCertificate, err)
	}
	c.Leaf = kp.cert
	return &c, nil
}
