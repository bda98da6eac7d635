package main

import (
	"crypto/x509"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// isoTime is JavaScript's Date.prototype.toISOString: UTC, milliseconds, Z.
func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// jsQuote is JavaScript's JSON.stringify of a string (Go's JSON encoder escapes more: <, >, &, U+2028).
func jsQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x20 {
				fmt.Fprintf(&b, `\u%04x`, r)
			} else if r == utf8.RuneError {
				b.WriteString(`\ufffd`)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// OpenSSL's short names for the attributes node:crypto's X509Certificate.subject prints.
var attributeNames = map[string]string{
	"2.5.4.3":                    "CN",
	"2.5.4.4":                    "SN",
	"2.5.4.5":                    "serialNumber",
	"2.5.4.6":                    "C",
	"2.5.4.7":                    "L",
	"2.5.4.8":                    "ST",
	"2.5.4.9":                    "street",
	"2.5.4.10":                   "O",
	"2.5.4.11":                   "OU",
	"2.5.4.12":                   "title",
	"2.5.4.42":                   "GN",
	"0.9.2342.19200300.100.1.1":  "UID",
	"0.9.2342.19200300.100.1.25": "DC",
	"1.2.840.113549.1.9.1":       "emailAddress",
}

// labelOf is the quoted one-line subject of src/pki/ca-checks.ts labelOf: node's X509Certificate.subject
// (OpenSSL's multi-line form, RFC 2253 escaping, in encoded order) with its lines joined by ", ".
func labelOf(c *x509.Certificate) string {
	var parts []string
	for _, atv := range c.Subject.Names {
		name, ok := attributeNames[atv.Type.String()]
		if !ok {
			name = atv.Type.String()
		}
		parts = append(parts, name+"="+escape2253(fmt.Sprint(atv.Value)))
	}
	return jsQuote(strings.Join(parts, ", "))
}

// escape2253 escapes a value as OpenSSL's ASN1_STRFLGS_ESC_2253 | ASN1_STRFLGS_ESC_CTRL do.
func escape2253(v string) string {
	var b strings.Builder
	for i, r := range v {
		switch {
		case strings.ContainsRune(`,+"\<>;`, r),
			i == 0 && (r == '#' || r == ' '),
			i == len(v)-1 && r == ' ':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\%02X`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
