package whatsapp

import "testing"

func TestSignatureIsCheckedOverTheRawBytes(t *testing.T) {
	body := []byte(`{"object":"whatsapp_business_account","entry":[]}`)
	good := Sign(body, "secret")
	if err := VerifySignature(body, good, "secret"); err != nil {
		t.Fatalf("good signature refused: %v", err)
	}
	spaced := []byte(`{"object": "whatsapp_business_account", "entry": []}`)
	for name, c := range map[string]struct {
		body   []byte
		header string
	}{
		"reformatted body": {spaced, good},
		"other secret":     {body, Sign(body, "other")},
		"no prefix":        {body, good[len("sha256="):]},
		"not hex":          {body, "sha256=zz"},
		"empty":            {body, ""},
	} {
		if err := VerifySignature(c.body, c.header, "secret"); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestBodyOfEachInboundKind(t *testing.T) {
	w, err := ParseWebhook([]byte(`{"object":"whatsapp_business_account","entry":[{"changes":[{"value":{"messages":[
		{"from":"1","id":"a","type":"text","text":{"body":"hi"}},
		{"from":"1","id":"b","type":"interactive","interactive":{"type":"button_reply","button_reply":{"id":"done","title":"Done"}}},
		{"from":"1","id":"c","type":"interactive","interactive":{"type":"list_reply","list_reply":{"id":"r","title":"Row"}}},
		{"from":"1","id":"d","type":"button","button":{"payload":"p","text":"Yes"}},
		{"from":"1","id":"e","type":"image","image":{"id":"9","caption":"my run"}},
		{"from":"1","id":"f","type":"location","location":{"latitude":52.5,"longitude":13.4,"name":"Park"}},
		{"from":"1","id":"g","type":"reaction","reaction":{"message_id":"wamid.x","emoji":"👍"}},
		{"from":"1","id":"h","type":"contacts","contacts":[{"name":{"formatted_name":"Ada L"}}]},
		{"from":"1","id":"i","type":"sticker","sticker":{"id":"7"}}]}}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range w.Entry[0].Changes[0].Value.Messages {
		got = append(got, m.Body())
	}
	if want := "hi,Done,Row,Yes,[image] my run,[location 52.5,13.4] Park,[reaction 👍],[contact Ada L],[sticker]"; join(got) != want {
		t.Fatalf("bodies = %v", got)
	}
}

func join(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += ","
		}
		out += x
	}
	return out
}
