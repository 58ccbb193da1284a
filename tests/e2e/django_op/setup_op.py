#!/usr/bin/env python3
"""Creates the provider's state: database, RSA signing key, users and the two clients.

Usage: setup_op.py STATE_DIR CALLBACK_URL POST_LOGOUT_URL
"""
import os
import secrets
import subprocess
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

state, callback, post_logout = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
state.mkdir(parents=True, exist_ok=True)
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
(state / "rsa.pem").write_bytes(key.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
(state / "django-secret").write_text(secrets.token_urlsafe(40))
os.environ["OP_STATE_DIR"] = str(state)
here = Path(__file__).resolve().parent
subprocess.run([sys.executable, str(here / "manage.py"), "migrate", "-v", "0"], check=True, cwd=here)

sys.path.insert(0, str(here))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "op.settings")
import django  # noqa: E402

django.setup()
from django.contrib.auth.models import Group, User  # noqa: E402
from oauth2_provider.models import Application  # noqa: E402

servidores = Group.objects.create(name="servidores")
maria = User.objects.create_user("maria", "maria@example.org", "maria-pw")
maria.groups.add(servidores)
User.objects.create_user("joao", "joao@example.org", "joao-pw")
for client_id, client_type, secret in [
    ("porteiro-public", Application.CLIENT_PUBLIC, ""),
    ("porteiro-confidential", Application.CLIENT_CONFIDENTIAL, "confidential-s3cret"),
]:
    Application.objects.create(
        client_id=client_id, client_secret=secret, client_type=client_type,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE, name=client_id,
        redirect_uris=callback, post_logout_redirect_uris=post_logout, algorithm=Application.RS256_ALGORITHM,
        skip_authorization=True)
