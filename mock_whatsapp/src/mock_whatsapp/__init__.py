"""mock_whatsapp: a fake WhatsApp Cloud API (the business side) and the phones behind it."""

__version__ = "0.1.0"
