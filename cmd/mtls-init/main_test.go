package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The full parity suite (every case against this binary and the TypeScript command, byte for byte) is
// test/cli/init-parity.test.ts; these tests keep the Go module honest on its own with `go test`.

var now = time.Now().Truncate(time.Second)

type pki struct {
	caCert *x509.Certificate
	caKey  *ecdsa.PrivateKey
	caPem  string
}

func newPki(t *testing.T) pki {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{Organization: []string{"cluster.local"}, CommonName: "test root"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return pki{cert, key, pemOf("CERTIFICATE", der)}
}

func pemOf(label string, der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: label, Bytes: der}))
}

// leaf issues a leaf for id valid from notBefore for an hour; it returns tls.crt, tls.key and the serial.
func (p pki) leaf(t *testing.T, id string, notBefore time.Time, serial int64) (string, string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	uri, _ := url.Parse(id)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: "web.shop"},
		NotBefore:    notBefore,
		NotAfter:     notBefore.Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		URIs:         []*url.URL{uri},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.caCert, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDer, _ := x509.MarshalPKCS8PrivateKey(key)
	return pemOf("CERTIFICATE", der), pemOf("PRIVATE KEY", keyDer)
}

func (p pki) crl(t *testing.T, serials ...int64) string {
	t.Helper()
	var entries []x509.RevocationListEntry
	for _, s := range serials {
		entries = append(entries, x509.RevocationListEntry{SerialNumber: big.NewInt(s), RevocationTime: now, ReasonCode: 1})
	}
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number: big.NewInt(3), ThisUpdate: now.Add(-time.Minute), NextUpdate: now.Add(time.Hour),
		RevokedCertificateEntries: entries,
	}, p.caCert, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	return pemOf("X509 CRL", der)
}

func mount(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func runIn(dir string, env map[string]string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	lookup := func(name string) (string, bool) { v, ok := env[name]; return v, ok }
	code := run(context.Background(), []string{"--dir", dir}, lookup, &stdout, &stderr, time.Now)
	return code, stdout.String(), stderr.String()
}

var podEnv = map[string]string{
	envPodNamespace: "shop", envPodServiceAccount: "web", envInitWaitTimeout: "0s",
}

const web = "spiffe://cluster.local/ns/shop/sa/web"

func TestRun(t *testing.T) {
	p := newPki(t)
	other := newPki(t)
	cert, key := p.leaf(t, web, now.Add(-time.Minute), 10)
	_, otherKey := p.leaf(t, web, now.Add(-time.Minute), 11)
	admin, adminKey := p.leaf(t, "spiffe://cluster.local/ns/shop/sa/admin", now.Add(-time.Minute), 12)
	old, oldKey := p.leaf(t, web, now.Add(-2*time.Hour), 13)
	crl := p.crl(t, 10)
	forged := []byte(crl)
	block, _ := pem.Decode(forged)
	block.Bytes[len(block.Bytes)-3] ^= 0xff
	good := map[string]string{certFile: cert, keyFile: key, caFile: p.caPem}
	with := func(extra map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range good {
			out[k] = v
		}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	cases := []struct {
		name  string
		files map[string]string
		code  int
		want  string
	}{
		{"good", good, exitOK, "identity " + web + " verified (key matches, chain trusted, no ca.crl, valid until "},
		{"wrong SPIFFE ID", with(map[string]string{certFile: admin, keyFile: adminKey}), exitFailure, "wrong_identity: certificate \"CN=web.shop\" is for \"spiffe://cluster.local/ns/shop/sa/admin\""},
		{"other CA", with(map[string]string{caFile: other.caPem}), exitFailure, "untrusted: certificate \"CN=web.shop\" was not issued by any root"},
		{"expired", with(map[string]string{certFile: old, keyFile: oldKey}), exitFailure, "expired: certificate \"CN=web.shop\" expired at "},
		{"key mismatch", with(map[string]string{keyFile: otherKey}), exitFailure, "key_mismatch: private key (tls.key) does not match the certificate (tls.crt)"},
		{"revoked", with(map[string]string{crlFile: crl}), exitFailure, "(serial 0a) is revoked: it is on its issuer's CRL in ca.crl (keyCompromise, "},
		{"forged CRL", with(map[string]string{crlFile: pemOf("X509 CRL", block.Bytes)}), exitFailure, "ca.crl: 1 CRL(s) carry the key identifier of the leaf's issuer but are not signed by it"},
		{"not revoked", with(map[string]string{crlFile: p.crl(t, 99)}), exitOK, "not on the CRL (number 3, next update "},
		{"missing files", map[string]string{}, exitFailure, "ca.crt not present after 0s; is the mtls-injector rotator running?"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := runIn(mount(t, c.files), podEnv)
			if code != c.code || !strings.Contains(stdout+stderr, c.want) {
				t.Fatalf("exit %d (want %d), output:\n%s%s\nwant it to contain %q", code, c.code, stdout, stderr, c.want)
			}
			if strings.Contains(stdout+stderr, "BEGIN") {
				t.Fatalf("output carries PEM:\n%s%s", stdout, stderr)
			}
		})
	}
}

func TestWaitsForFilesThatArrive(t *testing.T) {
	p := newPki(t)
	cert, key := p.leaf(t, web, now.Add(-time.Minute), 5)
	dir := t.TempDir()
	go func() {
		time.Sleep(300 * time.Millisecond)
		for name, text := range map[string]string{certFile: cert, keyFile: key, caFile: p.caPem} {
			_ = os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600)
		}
	}()
	env := map[string]string{envPodNamespace: "shop", envPodServiceAccount: "web", envInitWaitTimeout: "20s"}
	if code, stdout, stderr := runIn(dir, env); code != exitOK {
		t.Fatalf("exit %d:\n%s%s", code, stdout, stderr)
	}
}

func TestConfig(t *testing.T) {
	env := map[string]string{envInitTrustDomain: "Bad", envInitWaitTimeout: "1h1s"}
	code, _, stderr := runIn(t.TempDir(), env)
	want := "error: invalid configuration (2 problems):\n" +
		"  - trustDomain (env MTLS_INJECTOR_TRUST_DOMAIN): expected lowercase letters, digits, \".\", \"-\", \"_\", got \"Bad\"\n" +
		"  - init.waitTimeout (env MTLS_INJECTOR_INIT_WAIT_TIMEOUT): expected a duration such as 90s, 15m or 24h from 0s to 3600s, got \"1h1s\" [MTLS_ERR_CONFIG_INVALID]\n"
	if code != exitFailure || stderr != want {
		t.Fatalf("exit %d, stderr:\n%s\nwant:\n%s", code, stderr, want)
	}
}

func TestParseDurationSeconds(t *testing.T) {
	for text, want := range map[string]float64{"120": 120, "90s": 90, "1h30m": 5400, "0.5s": 0.5, " 2m ": 120, "1d": 86400} {
		if got, ok := parseDurationSeconds(text); !ok || got != want {
			t.Errorf("parseDurationSeconds(%q) = %v, %v; want %v", text, got, ok, want)
		}
	}
	for _, text := range []string{"", "-1s", "2 minutes", "1.s", "s", "+5", "1w"} {
		if _, ok := parseDurationSeconds(text); ok {
			t.Errorf("parseDurationSeconds(%q) accepted", text)
		}
	}
}

func TestSplitPemNamesTheBlockNeverItsContent(t *testing.T) {
	_, err := splitPem("-----BEGIN CERTIFICATE-----\nsecret!\n-----END CERTIFICATE-----\n", "tls.crt")
	if err == nil || err.Error() != "tls.crt: block 1 (CERTIFICATE) is not valid base64; expected PEM as written by openssl or mtls-injector" {
		t.Fatalf("got %v", err)
	}
	_, err = splitPem("-----BEGIN A-----\nAAAA\n-----END B-----\n", "x")
	if err == nil || !strings.Contains(err.Error(), "block 1 begins as A but ends as B") {
		t.Fatalf("got %v", err)
	}
}

func TestQuoting(t *testing.T) {
	if got := jsQuote("a\"b\\c\n<&>\u2028"); got != "\"a\\\"b\\\\c\\n<&>\u2028\"" {
		t.Errorf("jsQuote = %s", got)
	}
	if got := escape2253(" Example, Inc. <x>;#"); got != `\ Example\, Inc. \<x\>\;#` {
		t.Errorf("escape2253 = %s", got)
	}
}
