package pos

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stockgate/stockgate/connectors"
)

// The README's recipe is documentation a POS integrator copies; these tests
// keep it working. TestREADMEWorkedExample recomputes its worked example in
// Go, with the recipe's string-to-sign; TestREADMERecipe runs the recipe's
// shell block itself (with curl replaced by a recorder) and verifies what
// it would send.

// recipe is what the tests read from README.md.
type recipe struct {
	script   string // the sh block
	secret   string // SECRET='…'
	body     []byte // the here-document, as bash writes it to batch.json
	json     string // the "The batch" block
	exampleT int64  // T= of the worked example
	example  string // the worked example's header value
}

func readRecipe(t *testing.T) recipe {
	t.Helper()
	raw, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := map[string][]string{} // language → fenced blocks
	var lang string
	var cur []string
	in := false
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		l := sc.Text()
		switch {
		case !in && strings.HasPrefix(l, "```"):
			in, lang, cur = true, strings.TrimPrefix(l, "```"), nil
		case in && l == "```":
			in = false
			blocks[lang] = append(blocks[lang], strings.Join(cur, "\n")+"\n")
		case in:
			cur = append(cur, l)
		}
	}
	if len(blocks["sh"]) != 1 || len(blocks["json"]) != 1 {
		t.Fatalf("README.md: want one sh and one json block, have %d and %d", len(blocks["sh"]), len(blocks["json"]))
	}
	r := recipe{script: blocks["sh"][0], json: blocks["json"][0]}
	if m := regexp.MustCompile(`(?m)^SECRET='([^']+)'`).FindStringSubmatch(r.script); m != nil {
		r.secret = m[1]
	}
	if m := regexp.MustCompile(`(?s)cat > batch\.json <<'EOF'\n(.*?\n)EOF\n`).FindStringSubmatch(r.script); m != nil {
		r.body = []byte(m[1]) // a here-document ends with the newline before EOF
	}
	// The string-to-sign of the recipe: "<t>." then the file's bytes.
	if !strings.Contains(r.script, `{ printf '%s.' "$T"; cat batch.json; } | openssl dgst -sha256 -hmac "$SECRET"`) ||
		!strings.Contains(r.script, `-H "Stockgate-Signature: t=$T,v1=$SIG"`) || !strings.Contains(r.script, "--data-binary @batch.json") {
		t.Fatalf("README.md: the recipe no longer signs \"<t>.<body>\" and sends the file as signed:\n%s", r.script)
	}
	if m := regexp.MustCompile("`T=(\\d+)`").FindStringSubmatch(string(raw)); m != nil {
		r.exampleT, _ = strconv.ParseInt(m[1], 10, 64)
	}
	if m := regexp.MustCompile(`(?m)^Stockgate-Signature: (t=\d+,v1=[0-9a-f]{64})$`).FindStringSubmatch(string(raw)); m != nil {
		r.example = m[1]
	}
	if r.secret == "" || r.body == nil || r.exampleT == 0 || r.example == "" {
		t.Fatalf("README.md: cannot find the secret, batch, worked T or header: %+v", r)
	}
	return r
}

// checkBatch verifies and normalizes a request built from the recipe.
func checkBatch(t *testing.T, secret string, r *connectors.Request) {
	t.Helper()
	c, err := New(Config{ID: testID, Secrets: []string{secret}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Verify(r); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	res, err := c.Normalize(context.Background(), r)
	if err != nil {
		t.Fatalf("Normalize: %v", err)
	}
	// The README promises {"status":"accepted","events":5}.
	if len(res.Events) != 5 || len(res.Unmapped) != 0 {
		t.Errorf("%d events, %d dead letters; the README promises 5 events", len(res.Events), len(res.Unmapped))
	}
}

func TestREADMEWorkedExample(t *testing.T) {
	t.Parallel()
	r := readRecipe(t)
	if r.json != string(r.body) {
		t.Errorf("README.md: the batch shown differs from the one the recipe sends:\n%s\n%s", r.json, r.body)
	}
	// The recipe's string-to-sign, computed here without Sign.
	ts := strconv.FormatInt(r.exampleT, 10)
	m := hmac.New(sha256.New, []byte(r.secret))
	m.Write([]byte(ts + "."))
	m.Write(r.body)
	if want := "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil)); r.example != want {
		t.Errorf("README.md worked example:\n got %s\nwant %s", r.example, want)
	}
	if got := Sign(r.secret, time.Unix(r.exampleT, 0), r.body); got != r.example {
		t.Errorf("Sign = %s, README.md says %s", got, r.example)
	}
	h := http.Header{}
	h.Set(HeaderSignature, r.example)
	checkBatch(t, r.secret, &connectors.Request{Header: h, Body: r.body, ReceivedAt: time.Unix(r.exampleT, 0).Add(3 * time.Second)})
}

func TestREADMERecipe(t *testing.T) {
	t.Parallel()
	r := readRecipe(t)
	for _, tool := range []string{"bash", "openssl", "date", "cut"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed: %v", tool, err)
		}
	}
	dir := t.TempDir()
	stub := filepath.Join(dir, "bin")
	if err := os.Mkdir(stub, 0o755); err != nil {
		t.Fatal(err)
	}
	// curl records its arguments, one per line, and answers as the gateway.
	recorder := "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > curl-args.txt\necho '{\"status\":\"accepted\",\"events\":5}'\n"
	if err := os.WriteFile(filepath.Join(stub, "curl"), []byte(recorder), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", r.script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PATH="+stub+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the README recipe failed: %v\n%s", err, out)
	}
	sent := time.Now()
	args, err := os.ReadFile(filepath.Join(dir, "curl-args.txt"))
	if err != nil {
		t.Fatal(err)
	}
	body, err := os.ReadFile(filepath.Join(dir, "batch.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(body, r.body) {
		t.Errorf("batch.json is not the here-document:\n%q\n%q", body, r.body)
	}
	var sig string
	for l := range strings.SplitSeq(string(args), "\n") {
		if v, ok := strings.CutPrefix(l, HeaderSignature+": "); ok {
			sig = v
		}
	}
	if sig == "" {
		t.Fatalf("curl got no %s header: %s", HeaderSignature, args)
	}
	// The shell's signature is Go's for the same t.
	ts, _, err := parseSignature(sig)
	if err != nil {
		t.Fatal(err)
	}
	unix, _ := strconv.ParseInt(ts, 10, 64)
	if want := Sign(r.secret, time.Unix(unix, 0), body); sig != want {
		t.Errorf("recipe signed %s, Sign gives %s", sig, want)
	}
	h := http.Header{}
	h.Set(HeaderSignature, sig)
	checkBatch(t, r.secret, &connectors.Request{Header: h, Body: body, ReceivedAt: sent})
}
