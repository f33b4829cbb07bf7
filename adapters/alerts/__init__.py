"""Alert delivery: signed webhooks and e-mail, each through the egress guard."""

from ._delivery import DeliveryError, Sender
from ._mail import MailSender, MailServerConfig
from ._webhook import SIGNATURE_HEADER, WebhookSender, sign

__all__ = ["SIGNATURE_HEADER", "DeliveryError", "MailSender", "MailServerConfig", "Sender",
           "WebhookSender", "sign"]
