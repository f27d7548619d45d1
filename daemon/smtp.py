"""The SMTP client of the mailer: one message per connection, through ``[mail] smtp``.

What the at-most-once rule needs from it is the difference between a refusal (the server
answered no: nothing was sent, it may be tried again or not) and an exchange that broke
off once the message was handed over (unknown). ``smtplib`` and ``ssl`` are imported
only when a message is sent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from coffeechat.events.text import one_line

if TYPE_CHECKING:
    from email.message import EmailMessage

    from coffeechat.plugins.mail_settings import MailSettings


class Outcome(NamedTuple):
    """What the server did with one mail.

    ``result``: ``sent`` (it took it), ``refused`` (it certainly did not take it;
    ``permanent`` for a 5xx answer) or ``unknown`` (the exchange broke off while the
    server held the message).
    """

    result: str
    detail: str
    permanent: bool = False


Transport = Callable[["EmailMessage", str, str], Outcome]


class SmtpTransport:
    """Sends one message per connection through ``[mail] smtp`` (stdlib ``smtplib``).

    It tells a refusal (the server answered no: nothing was sent) from an exchange
    that broke off after the message was handed over (unknown), which is what the
    at-most-once rule needs. Certificates are verified against the system's
    authorities, or ``[mail] cafile``; never skipped.
    """

    def __init__(self, config: MailSettings, password: str | None) -> None:
        self.config = config
        self.password = password

    def send(self, message: EmailMessage, sender: str, recipient: str) -> Outcome:
        """Send ``message`` from ``sender`` to ``recipient``; return the :class:`Outcome`."""
        import smtplib
        import ssl
        from email import policy

        scheme, host, port = self.config.endpoint()
        where = f"{host}:{port}"
        payload = message.as_bytes(policy=policy.SMTP)
        try:
            context = (
                ssl.create_default_context(cafile=self.config.cafile) if scheme != "smtp" else None
            )
        except OSError as error:
            return Outcome("refused", f"[mail] cafile: {error.strerror or error}")
        handed_over = False
        try:
            client: smtplib.SMTP
            if scheme == "smtps":
                client = smtplib.SMTP_SSL(host, port, timeout=self.config.timeout, context=context)
            else:
                client = smtplib.SMTP(host, port, timeout=self.config.timeout)
            try:
                client.ehlo()
                if scheme == "smtp+starttls":
                    client.starttls(context=context)
                    client.ehlo()
                if self.config.user is not None:
                    client.login(self.config.user, self.password or "")
                code, text = client.mail(sender)
                if code != 250:
                    return _refusal(code, text, "the sender", where)
                code, text = client.rcpt(recipient)
                if code not in (250, 251):
                    return _refusal(code, text, recipient, where)
                handed_over = True
                code, text = client.data(payload)  # the final answer is returned, not raised
                if code != 250:
                    return _refusal(code, text, "the message", where)
                return Outcome("sent", f"{where} took it")
            finally:
                _close(client)
        except smtplib.SMTPDataError as error:  # an answer: it was not taken
            return _refusal(error.smtp_code, error.smtp_error, "the message", where)
        except smtplib.SMTPAuthenticationError as error:
            answer = _text(error.smtp_error)
            return Outcome(
                "refused",
                f"{where} refused the login ({error.smtp_code} {answer}): "
                "check [mail] user and password",
            )
        except smtplib.SMTPNotSupportedError as error:
            return Outcome("refused", f"{where}: {error}")
        except ssl.SSLCertVerificationError as error:
            return Outcome(
                "refused",
                f"{where}: its certificate is not trusted ({error.verify_message}): "
                "set [mail] cafile to the certificate of its authority",
            )
        except (smtplib.SMTPException, OSError) as error:
            detail = f"{where}: {type(error).__name__}: {one_line(str(error), 200)}"
            if handed_over:
                return Outcome("unknown", detail)
            return Outcome("refused", detail)


def _refusal(code: int, text: bytes | str, what: str, where: str) -> Outcome:
    return Outcome(
        "refused", f"{where} refused {what}: {code} {_text(text)}", permanent=500 <= code < 600
    )


def _text(text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return one_line(text, 200)


def _close(client: Any) -> None:
    try:
        client.quit()
    except Exception:
        client.close()
