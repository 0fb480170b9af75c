"""Form data for one connection of each kind, with secrets easy to search for."""

AUTH0_SECRET = "auth0-client-secret-Zq81xVb"
SMTP_PASSWORD = "smtp-password-Kp29wLm"
TWILIO_TOKEN = "twilio-auth-token-Hd47sQa"
HTTP_TOKEN = "http-bearer-token-Rv62nPe"
SECRETS = (AUTH0_SECRET, SMTP_PASSWORD, TWILIO_TOKEN, HTTP_TOKEN)


def auth0_form(**overrides):
    return {
        "name": "Acme tenant",
        "domain": "acme.us.auth0.com",
        "client_id": "m2m-client-id",
        "client_secret": AUTH0_SECRET,
        "audience": "",
        **overrides,
    }


def smtp_form(**overrides):
    return {
        "name": "Mail relay",
        "host": "smtp.example.com",
        "port": "587",
        "security": "starttls",
        "username": "mailer",
        "password": SMTP_PASSWORD,
        "sender_email": "no-reply@example.com",
        "sender_name": "Acme",
        **overrides,
    }


def twilio_form(**overrides):
    return {
        "name": "Twilio main",
        "account_sid": "AC" + "0123456789abcdef" * 2,
        "auth_token": TWILIO_TOKEN,
        "from_number": "+14155550100",
        "api_base_url": "",
        **overrides,
    }


def http_form(**overrides):
    return {
        "name": "Partner API",
        "setup": "BEARER",
        "hosts": "api.partner.example",
        "token": HTTP_TOKEN,
        "key_in": "HEADER",
        **overrides,
    }


FORMS = {"auth0": auth0_form, "smtp": smtp_form, "twilio": twilio_form, "http": http_form}
