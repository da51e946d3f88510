package outbox

import (
	"testing"

	"promptpipe/delivery/internal/store"
	"promptpipe/delivery/internal/whatsapp"
)

func TestTheReplacementOfARefusedMessage(t *testing.T) {
	closed, other := whatsapp.ErrCodeReengagement, 131026
	own := &whatsapp.Template{Name: "daily_prompt_reminder", Parameters: []string{"walk"}}
	r := &Reengager{Default: whatsapp.Template{Name: "habit_checkin", Language: "en"}}
	for _, c := range []struct {
		name string
		m    store.FailedMessage
		want string // template name, "" for none
		lang string
	}{
		{"window closed", store.FailedMessage{Type: "text", ErrorCode: &closed}, "habit_checkin", "en"},
		{"the agent named one", store.FailedMessage{Type: "text", ErrorCode: &closed, Fallback: own}, "daily_prompt_reminder", "en"},
		{"another failure", store.FailedMessage{Type: "text", ErrorCode: &other}, "", ""},
		{"no code", store.FailedMessage{Type: "text"}, "", ""},
		{"a template refused", store.FailedMessage{Type: "template", ErrorCode: &closed}, "", ""},
	} {
		got, ok := r.Replacement(c.m)
		if ok != (c.want != "") || got.Name != c.want || (ok && got.Language != c.lang) {
			t.Errorf("%s: %+v, %v; want %q in %q", c.name, got, ok, c.want, c.lang)
		}
	}
	none := &Reengager{}
	if _, ok := none.Replacement(store.FailedMessage{Type: "text", ErrorCode: &closed}); ok {
		t.Error("with no default template configured, a replacement was chosen")
	}
}
