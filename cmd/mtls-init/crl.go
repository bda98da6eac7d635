package main

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"
)

// revocation is what ca.crl says of the leaf: a problem that keeps the app from starting, warnings that do
// not, and the summary for the success line (revocationProblem in src/cli/init.ts).
type revocation struct {
	problem  string
	warnings []string
	summary  string
}

var reasonNames = map[int]string{
	0: "unspecified", 1: "keyCompromise", 2: "cACompromise", 3: "affiliationChanged", 4: "superseded",
	5: "cessationOfOperation", 6: "certificateHold", 8: "removeFromCRL", 9: "privilegeWithdrawn", 10: "aACompromise",
}

var (
	oidCRLNumber      = asn1.ObjectIdentifier{2, 5, 29, 20}
	oidAuthorityKeyID = asn1.ObjectIdentifier{2, 5, 29, 35}
	oidReasonCode     = asn1.ObjectIdentifier{2, 5, 29, 21}
	oidInvalidityDate = asn1.ObjectIdentifier{2, 5, 29, 24}
)

// canonicalSerial is lowercase hex of the positive integer, an even number of digits (src/core/revocation.ts).
func canonicalSerial(n *big.Int) string {
	digits := strings.TrimLeft(strings.ToLower(n.Text(16)), "0")
	if len(digits)%2 == 1 {
		digits = "0" + digits
	}
	return digits
}

// readCrl parses one CRL's DER, refusing (as src/pki/crl-reader.ts does) a critical extension it does not
// understand: RFC 5280 §5.2 says such a CRL must not be used.
func readCrl(der []byte, what string) (*x509.RevocationList, error) {
	crl, err := x509.ParseRevocationList(der)
	if err == nil {
		for _, e := range crl.Extensions {
			if e.Critical && !e.Id.Equal(oidCRLNumber) && !e.Id.Equal(oidAuthorityKeyID) {
				err = fmt.Errorf("critical CRL extension %s is not supported", e.Id)
				break
			}
		}
	}
	if err == nil {
		for _, entry := range crl.RevokedCertificateEntries {
			for _, e := range entry.Extensions {
				if e.Critical && !e.Id.Equal(oidReasonCode) && !e.Id.Equal(oidInvalidityDate) {
					err = fmt.Errorf("critical CRL entry extension %s is not supported", e.Id)
				}
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%s: not a usable X.509 CRL (%s); expected a CRL as mtls-injector or openssl writes it", what, strings.TrimPrefix(err.Error(), "x509: "))
	}
	return crl, nil
}

// leafRevocation judges the first certificate of tls.crt by ca.crl (leafRevocation in src/pki/crl-check.ts
// and revocationProblem in src/cli/init.ts): only a CRL naming the leaf's issuer and signed by the certificate
// that signed the leaf counts; one carrying that issuer's key identifier but not its signature is forged.
func leafRevocation(dir, crlPem string, chain, roots []*x509.Certificate, now time.Time) revocation {
	const retry = "The rotator rewrites the Secret on its own; if this persists, check `mtls-injector check -n <namespace> --pod <pod>`"
	leaf, rest := chain[0], chain[1:]
	if strings.TrimSpace(crlPem) == "" {
		return revocation{summary: "no ca.crl"}
	}
	blocks, err := splitPem(crlPem, "ca.crl")
	if err != nil {
		return revocation{problem: err.Error() + ". " + retry}
	}
	var crls []*x509.RevocationList
	for _, b := range blocks {
		if b.label != "X509 CRL" {
			continue
		}
		crl, err := readCrl(b.der, fmt.Sprintf("ca.crl: CRL %d", len(crls)+1))
		if err != nil {
			return revocation{problem: err.Error() + ". " + retry}
		}
		crls = append(crls, crl)
	}
	var named []*x509.RevocationList
	for _, crl := range crls {
		if bytes.Equal(crl.RawIssuer, leaf.RawIssuer) {
			named = append(named, crl)
		}
	}
	if len(named) == 0 {
		return revocation{summary: fmt.Sprintf("ca.crl holds no CRL of the leaf's issuer (%d CRLs)", len(crls))}
	}
	var issuers []*x509.Certificate
	for _, c := range append(slices.Clone(rest), roots...) {
		if leaf.CheckSignatureFrom(c) == nil && bytes.Equal(leaf.RawIssuer, c.RawSubject) {
			issuers = append(issuers, c)
		}
	}
	if len(issuers) == 0 {
		return revocation{summary: "the leaf's issuer is in neither tls.crt nor ca.crt, so no CRL can be checked"}
	}
	var signed, forged []*x509.RevocationList
	for _, crl := range named {
		ok := slices.ContainsFunc(issuers, func(issuer *x509.Certificate) bool {
			return issuer.CheckSignature(crl.SignatureAlgorithm, crl.RawTBSRevocationList, crl.Signature) == nil
		})
		if ok {
			signed = append(signed, crl)
		} else if len(crl.AuthorityKeyId) > 0 && len(leaf.AuthorityKeyId) > 0 && bytes.Equal(crl.AuthorityKeyId, leaf.AuthorityKeyId) {
			forged = append(forged, crl)
		}
	}
	var fatal, warnings []string
	if len(forged) > 0 {
		fatal = append(fatal, fmt.Sprintf("ca.crl: %d CRL(s) carry the key identifier of the leaf's issuer but are not signed by it; they are ignored", len(forged)))
	}
	crl := newest(signed)
	if crl == nil {
		if len(fatal) > 0 {
			return revocation{problem: strings.Join(fatal, "; ") + ". " + retry}
		}
		return revocation{summary: "no CRL in ca.crl is signed by the leaf's issuer"}
	}
	if !crl.NextUpdate.IsZero() && crl.NextUpdate.Before(now) {
		warnings = append(warnings, fmt.Sprintf("ca.crl: the CRL's nextUpdate %s has passed; peers that check CRLs with OpenSSL (nginx, node:tls, Envoy) refuse every certificate of this CA until it is refreshed", isoTime(crl.NextUpdate)))
	}
	if crl.ThisUpdate.After(now) {
		warnings = append(warnings, fmt.Sprintf("ca.crl: the CRL's thisUpdate %s is in the future; check this node's clock", isoTime(crl.ThisUpdate)))
	}
	serial := canonicalSerial(leaf.SerialNumber)
	for _, entry := range crl.RevokedCertificateEntries {
		if entry.SerialNumber == nil || canonicalSerial(entry.SerialNumber) != serial {
			continue
		}
		reason, ok := reasonNames[entry.ReasonCode]
		if !ok {
			reason = fmt.Sprintf("reason(%d)", entry.ReasonCode)
		}
		return revocation{
			problem: fmt.Sprintf("the certificate in %s (serial %s) is revoked: it is on its issuer's CRL in ca.crl (%s, %s); the rotator issues a new key and certificate after a revocation. %s",
				dir, serial, reason, isoTime(entry.RevocationTime), retry),
			warnings: warnings,
		}
	}
	if len(fatal) > 0 {
		return revocation{problem: strings.Join(fatal, "; ") + ". " + retry, warnings: warnings}
	}
	number := "none"
	if crl.Number != nil && hasCrlNumber(crl) {
		number = crl.Number.String()
	}
	next := "none"
	if !crl.NextUpdate.IsZero() {
		next = isoTime(crl.NextUpdate)
	}
	return revocation{warnings: warnings, summary: fmt.Sprintf("not on the CRL (number %s, next update %s)", number, next)}
}

func hasCrlNumber(crl *x509.RevocationList) bool {
	return slices.ContainsFunc(crl.Extensions, func(e pkix.Extension) bool { return e.Id.Equal(oidCRLNumber) })
}

// newest is the CRL with the highest number (absent counts as -1), then the latest thisUpdate; the first wins a tie.
func newest(crls []*x509.RevocationList) *x509.RevocationList {
	var best *x509.RevocationList
	num := func(c *x509.RevocationList) *big.Int {
		if c.Number == nil || !hasCrlNumber(c) {
			return big.NewInt(-1)
		}
		return c.Number
	}
	for _, crl := range crls {
		if best == nil {
			best = crl
			continue
		}
		switch num(crl).Cmp(num(best)) {
		case 1:
			best = crl
		case 0:
			if crl.ThisUpdate.After(best.ThisUpdate) {
				best = crl
			}
		}
	}
	return best
}
