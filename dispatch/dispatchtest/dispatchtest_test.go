package dispatchtest

import (
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"
)

// TestReadBody: the fake reads the body the wrapper read, ending as the
// client's did: whole with EOF, or cut short with the server's error.
func TestReadBody(t *testing.T) {
	whole := httptest.NewRequest("POST", "/", strings.NewReader(`{"a":1}`))
	if got := ReadBody(whole); string(got) != `{"a":1}` {
		t.Fatalf("ReadBody = %q", got)
	}
	if again, err := io.ReadAll(whole.Body); err != nil || string(again) != `{"a":1}` {
		t.Errorf("the fake read %q, %v; want the whole body and no error", again, err)
	}

	cut := httptest.NewRequest("POST", "/", io.MultiReader(strings.NewReader(`{"a":`), iotest.ErrReader(io.ErrUnexpectedEOF)))
	if got := ReadBody(cut); string(got) != `{"a":` {
		t.Fatalf("ReadBody of a cut body = %q", got)
	}
	again, err := io.ReadAll(cut.Body)
	if string(again) != `{"a":` || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("the fake read %q, %v; want the partial body and io.ErrUnexpectedEOF", again, err)
	}
}
