package httpapi

import (
	"net/http/httptest"
	"testing"

	"github.com/ownkey/ownkey"
)

// The status a client is sent is ownkey.StatusOf's, the table the chat
// service also records.
func TestErrorSendsStatusOf(t *testing.T) {
	for _, e := range []*ownkey.Error{
		{Code: ownkey.EINVALID}, {Code: ownkey.EUNAUTHORIZED}, {Code: ownkey.EPAYMENT}, {Code: ownkey.EFORBIDDEN},
		{Code: ownkey.ENOTFOUND}, {Code: ownkey.ECONFLICT}, {Code: ownkey.ETOOLARGE}, {Code: ownkey.ERATELIMIT},
		{Code: ownkey.EINTERNAL}, {Code: ownkey.EUPSTREAM}, {Code: ownkey.EUNAVAILABLE}, {Code: ownkey.ETIMEOUT},
		{Code: ownkey.EUPSTREAM, Status: 529}, {Code: ownkey.EINVALID, Status: 501},
	} {
		rec := httptest.NewRecorder()
		Error(rec, httptest.NewRequest("GET", "/", nil), e)
		if rec.Code != ownkey.StatusOf(e) {
			t.Errorf("%s (status %d): sent %d, StatusOf says %d", e.Code, e.Status, rec.Code, ownkey.StatusOf(e))
		}
	}
}
