package main

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"slices"
	"strings"
	"time"
)

// problem is one reason a certificate set is not usable, with the stable code of src/pki/verify.ts.
type problem struct {
	code    string
	message string
}

// leafFacts is what the success line needs of the leaf.
type leafFacts struct {
	notAfter time.Time
}

// verifyResult is the outcome of verifyLeaf: ok only without problems.
type verifyResult struct {
	problems []problem
	leaf     *leafFacts
}

var (
	oidSubjectAltName = asn1.ObjectIdentifier{2, 5, 29, 17}
	oidKeyUsage       = asn1.ObjectIdentifier{2, 5, 29, 15}
	oidExtKeyUsage    = asn1.ObjectIdentifier{2, 5, 29, 37}
	oidBasicConstr    = asn1.ObjectIdentifier{2, 5, 29, 19}
)

const (
	oidServerAuth = "1.3.6.1.5.5.7.3.1"
	oidClientAuth = "1.3.6.1.5.5.7.3.2"
	// maxPath bounds path building, as in src/pki/verify.ts.
	maxPath = 8
)

// verifyLeaf checks tls.crt (leaf first, then intermediates), tls.key and ca.crt at now against the expected
// SPIFFE ID. It reports the problems of verifyLeaf in src/pki/verify.ts, with the same codes, in the same order
// and with the same messages; none carries PEM or key bytes.
func verifyLeaf(certChainPem, keyPem, trustBundlePem string, now time.Time, expected string) verifyResult {
	var problems []problem
	chain := parseAll(certChainPem, "certificate chain (tls.crt)", &problems)
	roots := parseAll(trustBundlePem, "trust bundle (ca.crt)", &problems)
	if len(chain) == 0 {
		if !slices.ContainsFunc(problems, func(p problem) bool { return strings.HasPrefix(p.message, "certificate chain") }) {
			problems = append(problems, problem{"no_certificate", "certificate chain (tls.crt): holds no certificate"})
		}
		return verifyResult{problems: problems}
	}
	leaf := chain[0]
	if len(roots) == 0 && !slices.ContainsFunc(problems, func(p problem) bool { return strings.HasPrefix(p.message, "trust bundle") }) {
		problems = append(problems, problem{"no_certificate", "trust bundle (ca.crt): holds no certificate"})
	}
	if len(roots) > 0 {
		problems = append(problems, verifyChain(chain, roots, now)...)
	}
	problems = append(problems, identityProblems(leaf, expected)...)
	if p := keyMatchProblem(leaf, keyPem); p != nil {
		problems = append(problems, *p)
	}
	return verifyResult{problems: problems, leaf: &leafFacts{notAfter: leaf.NotAfter}}
}

// verifyChain builds a path from chain[0] through chain[1:] to a root and checks each signature, validity
// window, CA flag, keyCertSign and path length, and that the leaf is not a CA.
func verifyChain(chain, roots []*x509.Certificate, now time.Time) []problem {
	var problems []problem
	leaf, intermediates := chain[0], chain[1:]
	if isCA(leaf) {
		problems = append(problems, problem{"not_a_leaf", fmt.Sprintf("certificate %s is a CA (CA:TRUE); expected a leaf", labelOf(leaf))})
	}
	isRoot := func(c *x509.Certificate) bool {
		return slices.ContainsFunc(roots, func(r *x509.Certificate) bool { return bytes.Equal(r.Raw, c.Raw) })
	}
	path := []*x509.Certificate{leaf}
	current := leaf
	trusted := isRoot(leaf)
	for !trusted && len(path) <= maxPath {
		if i := slices.IndexFunc(roots, func(r *x509.Certificate) bool { return issuedBy(current, r) }); i >= 0 {
			path = append(path, roots[i])
			trusted = true
			break
		}
		i := slices.IndexFunc(intermediates, func(c *x509.Certificate) bool {
			return !slices.Contains(path, c) && issuedBy(current, c)
		})
		if i < 0 {
			break
		}
		current = intermediates[i]
		path = append(path, current)
		trusted = isRoot(current)
	}
	if !trusted {
		problems = append(problems, problem{"untrusted", fmt.Sprintf("certificate %s was not issued by any root of the trust bundle nor by a certificate of the chain; expected a chain to a trusted root", labelOf(current))})
	}
	for index, cert := range path {
		which := "issuer"
		if index == 0 {
			which = "certificate"
		}
		if now.Before(cert.NotBefore) {
			problems = append(problems, problem{"not_yet_valid", fmt.Sprintf("%s %s is not valid before %s (now %s)", which, labelOf(cert), isoTime(cert.NotBefore), isoTime(now))})
		} else if now.After(cert.NotAfter) {
			problems = append(problems, problem{"expired", fmt.Sprintf("%s %s expired at %s (now %s)", which, labelOf(cert), isoTime(cert.NotAfter), isoTime(now))})
		}
		if index == 0 {
			continue
		}
		if !isCA(cert) || !hasExtension(cert, oidKeyUsage) || cert.KeyUsage&x509.KeyUsageCertSign == 0 {
			problems = append(problems, problem{"untrusted", fmt.Sprintf("issuer %s is not a CA with keyCertSign; expected CA:TRUE and keyUsage keyCertSign", labelOf(cert))})
		} else if pathLen, ok := pathLength(cert); ok && pathLen < index-1 {
			problems = append(problems, problem{"untrusted", fmt.Sprintf("issuer %s allows %d intermediate(s) below it; the chain has %d", labelOf(cert), pathLen, index-1)})
		}
	}
	return problems
}

// identityProblems applies the SPIFFE X509-SVID rules: exactly one URI SAN, the expected one, both TLS usages.
func identityProblems(leaf *x509.Certificate, expected string) []problem {
	var problems []problem
	uris := uriSANs(leaf)
	switch {
	case len(uris) > 1:
		problems = append(problems, problem{"multiple_uri_sans", fmt.Sprintf("certificate %s has %d URI SANs; expected exactly one SPIFFE ID", labelOf(leaf), len(uris))})
	case len(uris) == 0:
		problems = append(problems, problem{"no_spiffe_id", fmt.Sprintf("certificate %s has no URI SAN; expected a SPIFFE ID", labelOf(leaf))})
	case !strings.HasPrefix(uris[0], "spiffe://"):
		problems = append(problems, problem{"no_spiffe_id", fmt.Sprintf("certificate %s has URI SAN %s; expected a spiffe:// ID", labelOf(leaf), jsQuote(uris[0]))})
	case uris[0] != expected:
		problems = append(problems, problem{"wrong_identity", fmt.Sprintf("certificate %s is for %s; expected %s", labelOf(leaf), jsQuote(uris[0]), jsQuote(expected))})
	}
	if hasExtension(leaf, oidExtKeyUsage) {
		var missing []string
		for _, want := range []struct {
			oid   string
			usage x509.ExtKeyUsage
		}{{oidServerAuth, x509.ExtKeyUsageServerAuth}, {oidClientAuth, x509.ExtKeyUsageClientAuth}} {
			if !slices.Contains(leaf.ExtKeyUsage, want.usage) {
				missing = append(missing, want.oid)
			}
		}
		if len(missing) > 0 {
			problems = append(problems, problem{"bad_usage", fmt.Sprintf("certificate %s lacks extended key usage %s; expected serverAuth and clientAuth", labelOf(leaf), strings.Join(missing, ", "))})
		}
	}
	if hasExtension(leaf, oidKeyUsage) && leaf.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		problems = append(problems, problem{"bad_usage", fmt.Sprintf("certificate %s lacks keyUsage digitalSignature; expected it for TLS", labelOf(leaf))})
	}
	return problems
}

// keyMatchProblem is nil when keyPem is the unencrypted private key of cert; otherwise why not (bad_key or
// key_mismatch), as src/pki/key-match.ts says it.
func keyMatchProblem(cert *x509.Certificate, keyPem string) *problem {
	mismatch := &problem{"key_mismatch", "private key (tls.key) does not match the certificate (tls.crt)"}
	blocks, err := splitPem(keyPem, "private key (tls.key)")
	if err != nil {
		return &problem{"bad_key", fmt.Sprintf("private key (tls.key): cannot be parsed (%s)", err)}
	}
	i := slices.IndexFunc(blocks, func(b pemBlock) bool { return strings.HasSuffix(b.label, "PRIVATE KEY") })
	if i < 0 || blocks[i].label == "ENCRYPTED PRIVATE KEY" {
		return &problem{"bad_key", "private key (tls.key): expected an unencrypted PRIVATE KEY block"}
	}
	key, err := parsePrivateKey(blocks[i])
	if err != nil {
		return &problem{"bad_key", "private key (tls.key): cannot be parsed"}
	}
	public, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !public.Equal(cert.PublicKey) {
		return mismatch
	}
	return nil
}

// parsePrivateKey reads a PKCS#8, SEC 1 or PKCS#1 key, whichever its label says (PKCS#8 for any other label,
// as OpenSSL's PEM reader would try).
func parsePrivateKey(block pemBlock) (crypto.Signer, error) {
	var key any
	var err error
	switch block.label {
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.der)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.der)
	default:
		key, err = x509.ParsePKCS8PrivateKey(block.der)
	}
	if err != nil {
		return nil, err
	}
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		return k, nil
	case *rsa.PrivateKey:
		return k, nil
	case ed25519.PrivateKey:
		return k, nil
	}
	return nil, fmt.Errorf("unsupported key type %T", key)
}

// parseAll parses every CERTIFICATE block of pem; on the first failure it records one bad_pem problem naming
// what and returns no certificates (as parseAll in src/pki/verify.ts).
func parseAll(pem, what string, problems *[]problem) []*x509.Certificate {
	blocks, err := splitPem(pem, what)
	if err != nil {
		*problems = append(*problems, problem{"bad_pem", err.Error()})
		return nil
	}
	var certs []*x509.Certificate
	for _, b := range blocks {
		if b.label != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(b.der)
		if err != nil {
			*problems = append(*problems, problem{"bad_pem", fmt.Sprintf("%s: certificate %d cannot be parsed", what, len(certs)+1)})
			return nil
		}
		certs = append(certs, cert)
	}
	return certs
}

// issuedBy: child names parent as its issuer, byte for byte, and parent's key made child's signature.
func issuedBy(child, parent *x509.Certificate) bool {
	if !bytes.Equal(child.RawIssuer, parent.RawSubject) {
		return false
	}
	return parent.CheckSignature(child.SignatureAlgorithm, child.RawTBSCertificate, child.Signature) == nil
}

func isCA(c *x509.Certificate) bool { return c.BasicConstraintsValid && c.IsCA }

// pathLength is the basicConstraints pathLenConstraint, when the certificate has one.
func pathLength(c *x509.Certificate) (int, bool) {
	if !hasExtension(c, oidBasicConstr) || (c.MaxPathLen <= 0 && !c.MaxPathLenZero) {
		return 0, false
	}
	return c.MaxPathLen, true
}

func hasExtension(c *x509.Certificate, oid asn1.ObjectIdentifier) bool {
	return slices.ContainsFunc(c.Extensions, func(e pkix.Extension) bool { return e.Id.Equal(oid) })
}

// uriSANs are the URI SANs exactly as encoded (Go's url.URL form may differ from the bytes).
func uriSANs(c *x509.Certificate) []string {
	var uris []string
	for _, e := range c.Extensions {
		if !e.Id.Equal(oidSubjectAltName) {
			continue
		}
		var seq asn1.RawValue
		if rest, err := asn1.Unmarshal(e.Value, &seq); err != nil || len(rest) > 0 {
			return uris
		}
		rest := seq.Bytes
		for len(rest) > 0 {
			var v asn1.RawValue
			var err error
			if rest, err = asn1.Unmarshal(rest, &v); err != nil {
				return uris
			}
			if v.Class == asn1.ClassContextSpecific && v.Tag == 6 {
				uris = append(uris, string(v.Bytes))
			}
		}
	}
	return uris
}
