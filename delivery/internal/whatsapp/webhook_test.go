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

// The other shapes Meta (and the mock) post to the same endpoint parse too: statuses
// carrying conversation and pricing, a template's status update, system errors.
func TestWebhooksWithPricingTemplateUpdatesAndSystemErrorsParse(t *testing.T) {
	for name, body := range map[string]string{
		"priced status": `{"object":"whatsapp_business_account","entry":[{"id":"2","changes":[{"field":"messages","value":{"statuses":[
			{"id":"wamid.a","status":"sent","timestamp":"1700000000","recipient_id":"1",
			 "conversation":{"id":"c0ffee","expiration_timestamp":"1700086400","origin":{"type":"utility"}},
			 "pricing":{"billable":false,"pricing_model":"PMP","type":"free_customer_service","category":"utility"}}]}}]}]}`,
		"template status": `{"object":"whatsapp_business_account","entry":[{"id":"2","time":1700000000,"changes":[{"field":"message_template_status_update",
			"value":{"event":"APPROVED","message_template_id":123,"message_template_name":"hello_world","message_template_language":"en_US","reason":"NONE"}}]}]}`,
		"system error": `{"object":"whatsapp_business_account","entry":[{"id":"2","changes":[{"field":"messages","value":{"messaging_product":"whatsapp",
			"errors":[{"code":130429,"title":"Rate limit hit","message":"Rate limit hit","error_data":{"details":"x"}}]}}]}]}`,
	} {
		w, err := ParseWebhook([]byte(body))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		statuses := w.Entry[0].Changes[0].Value.Statuses
		if name == "priced status" && (len(statuses) != 1 || statuses[0].Status != "sent") {
			t.Fatalf("%s: statuses = %+v", name, statuses)
		}
		if name != "priced status" && (len(statuses) != 0 || len(w.Entry[0].Changes[0].Value.Messages) != 0) {
			t.Fatalf("%s: read as a message or status", name)
		}
	}
}
