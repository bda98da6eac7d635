package main

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
)

// pemBlock is one PEM block: its label (CERTIFICATE, PRIVATE KEY, …) and the DER it carries.
type pemBlock struct {
	label string
	der   []byte
}

// The same grammar as src/pki/pem.ts: text between blocks is ignored, a block's body may hold no '-'.
var (
	pemBlockRe = regexp.MustCompile(`-----BEGIN ([A-Z0-9 ]+)-----([^-]*)-----END ([A-Z0-9 ]+)-----`)
	base64Re   = regexp.MustCompile(`^[A-Za-z0-9+/]*={0,2}$`)
	spaceRe    = regexp.MustCompile(`\s+`)
)

// badPem is the message of src/pki/pem.ts badPem: what, the detail, and what was expected.
func badPem(what, detail string) error {
	return fmt.Errorf("%s: %s; expected PEM as written by openssl or mtls-injector", what, detail)
}

// splitPem returns every PEM block in text, in order, or an error naming what and the block (never its
// content) when a block is unterminated, mislabelled or not base64. It mirrors splitPem in src/pki/pem.ts.
func splitPem(text, what string) ([]pemBlock, error) {
	var blocks []pemBlock
	consumed := 0
	for _, m := range pemBlockRe.FindAllStringSubmatchIndex(text, -1) {
		begin, body, end := text[m[2]:m[3]], text[m[4]:m[5]], text[m[6]:m[7]]
		index := len(blocks) + 1
		if begin != end {
			return nil, badPem(what, fmt.Sprintf("block %d begins as %s but ends as %s", index, begin, end))
		}
		compact := spaceRe.ReplaceAllString(body, "")
		if !base64Re.MatchString(compact) || len(compact)%4 != 0 || len(compact) == 0 {
			return nil, badPem(what, fmt.Sprintf("block %d (%s) is not valid base64", index, begin))
		}
		der, err := base64.StdEncoding.DecodeString(compact)
		if err != nil {
			return nil, badPem(what, fmt.Sprintf("block %d (%s) is not valid base64", index, begin))
		}
		blocks = append(blocks, pemBlock{label: begin, der: der})
		consumed = m[1]
	}
	if strings.Contains(text[consumed:], "-----BEGIN ") {
		return nil, badPem(what, fmt.Sprintf("block %d has no matching END line", len(blocks)+1))
	}
	return blocks, nil
}
