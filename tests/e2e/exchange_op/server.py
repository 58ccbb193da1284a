"""An OpenID provider that also answers RFC 8693 token exchange, for the end-to-end tests.

The protocol work is IdentityPython's `idpyoidc` (its `Server`: authorization with PKCE, the
token endpoint with its authorization_code, refresh_token and token-exchange helpers, ID tokens,
userinfo, discovery, client authentication, the username/password login page). What is ours is
only this file: the configuration, the clients and users, and the few lines of Flask that carry
HTTP requests to the library's endpoints and its answers back.

    python server.py --state-dir DIR [--port 0] [--gateway-url URL ...] [--redirect-uri URL ...]
                     [--issuer-url URL] [--token-lifetime 60] [--audience AUD ...]
                     [--refresh-tokens always|offline_access]

It listens on 127.0.0.1 (port 0: a free one), writes its signing keys into DIR and, once it
answers, the port into DIR/port. Users: maria / maria-pw, joao / joao-pw. Client: `porteiro-tx`
(secret `porteiro-tx-secret`, client_secret_basic or client_secret_post). Token exchange admits
the audiences `billing` and `reports` (see --audience) and refuses any other with invalid_target.
"""
import argparse
import json
import logging
import os
import sys
import threading
import traceback
from pathlib import Path

from flask import Flask, make_response, redirect, request
from werkzeug.serving import make_server

from idpyoidc.message.oauth2 import ResponseMessage
from idpyoidc.message.oidc import AuthorizationRequest
from idpyoidc.server import Server
from idpyoidc.server.configure import OPConfiguration
from idpyoidc.server.exception import FailedAuthentication
from idpyoidc.server.oauth2.add_on.pkce import CC_METHOD
from idpyoidc.server.oidc.token import Token

HERE = Path(__file__).resolve().parent
CLIENT_ID = "porteiro-tx"
CLIENT_SECRET = "porteiro-tx-secret"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
PASSWORDS = {"maria": "maria-pw", "joao": "joao-pw"}
USERS = {
    "maria": {"sub": "maria", "name": "Maria Silva", "given_name": "Maria", "family_name": "Silva",
              "preferred_username": "maria", "email": "maria@example.org", "email_verified": True},
    "joao": {"sub": "joao", "name": "João Souza", "given_name": "João", "family_name": "Souza",
             "preferred_username": "joao", "email": "joao@example.org", "email_verified": False},
}


def user_id_as_sub(uid, **kwargs):
    """`sub` is the user name (maria, joao), not the library's default salted hash."""
    return uid


def op_config(issuer, state, token_lifetime, audiences):
    rsa_only = [{"type": "RSA", "use": ["sig"]}]
    access_token_rules = {"supports_minting": ["access_token"], "expires_in": token_lifetime}
    return {
        "issuer": issuer,
        "base_url": issuer,
        "httpc_params": {"verify": False, "timeout": 4},
        "keys": {"private_path": str(state / "jwks.json"), "key_defs": rsa_only, "uri_path": "jwks.json",
                 "read_only": False},
        "cookie_handler": {
            "class": "idpyoidc.server.cookie_handler.CookieHandler",
            "kwargs": {
                "keys": {"private_path": str(state / "cookie_jwks.json"), "read_only": False,
                         "key_defs": [{"type": "OCT", "use": ["enc"], "kid": "enc"},
                                      {"type": "OCT", "use": ["sig"], "kid": "sig"}]},
                # Secure only when the issuer is https: over http a Secure cookie is never sent back.
                "flags": {"samesite": "Lax", "httponly": True, "secure": issuer.startswith("https:")},
                "name": {"session": "exchange_op", "register": "exchange_op_rp", "session_management": "exchange_sman"},
            },
        },
        "session_params": {
            "encrypter": {"kwargs": {"keys": {"key_defs": [{"type": "OCT", "use": ["enc"], "kid": "password"},
                                                          {"type": "OCT", "use": ["enc"], "kid": "salt"}]}}},
            "sub_func": {"public": {"function": user_id_as_sub}},
        },
        "preference": {"subject_types_supported": ["public"], "id_token_signing_alg_values_supported": ["RS256"],
                       "scopes_supported": ["openid", "profile", "email", "offline_access"],
                       "response_types_supported": ["code"],
                       "grant_types_supported": ["authorization_code", "refresh_token", TOKEN_EXCHANGE],
                       "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"]},
        "add_on": {
            "pkce": {"function": "idpyoidc.server.oauth2.add_on.pkce.add_support",
                     # Only S256. (add_support wants a dict here: a list of names fails in 5.0.0.)
                     "kwargs": {"essential": True, "code_challenge_methods": {"S256": CC_METHOD["S256"]}}},
        },
        "authz": {
            "class": "idpyoidc.server.authz.AuthzHandling",
            "kwargs": {"grant_config": {
                "usage_rules": {
                    "authorization_code": {"supports_minting": ["access_token", "refresh_token", "id_token"],
                                           "max_usage": 1, "expires_in": 120},
                    # An access token may be exchanged for another one (RFC 8693).
                    "access_token": access_token_rules,
                    "refresh_token": {"supports_minting": ["access_token", "refresh_token", "id_token"],
                                      "expires_in": 86400},
                },
                "expires_in": 86400,
            }},
        },
        "authentication": {
            "user": {
                "acr": "urn:oasis:names:tc:SAML:2.0:ac:classes:InternetProtocolPassword",
                "class": "idpyoidc.server.user_authn.user.UserPassJinja2",
                "kwargs": {
                    "verify_endpoint": "/verify/user",
                    "template": "user_pass.jinja2",
                    "db": {"class": "idpyoidc.server.util.JSONDictDB",
                           "kwargs": {"filename": str(state / "passwd.json")}},
                    "page_header": "Exchange OP: log in",
                },
            }
        },
        "userinfo": {"class": "idpyoidc.server.user_info.UserInfo", "kwargs": {"db": USERS}},
        "template_dir": str(HERE / "templates"),
        "endpoint": {
            "provider_config": {"path": ".well-known/openid-configuration",
                                "class": "idpyoidc.server.oidc.provider_config.ProviderConfiguration",
                                "kwargs": {"client_authn_method": None}},
            "authorization": {"path": "authorization",
                              "class": "idpyoidc.server.oidc.authorization.Authorization",
                              "kwargs": {"client_authn_method": None, "response_types_supported": ["code"],
                                         "response_modes_supported": ["query"]}},
            "token": {
                "path": "token",
                "class": "idpyoidc.server.oidc.token.Token",
                "kwargs": {
                    "client_authn_method": ["client_secret_basic", "client_secret_post"],
                    "grant_types_helpers": {
                        "authorization_code": {
                            "class": "idpyoidc.server.oidc.token_helper.access_token.AccessTokenHelper"},
                        "refresh_token": {
                            "class": "idpyoidc.server.oidc.token_helper.refresh_token.RefreshTokenHelper"},
                        TOKEN_EXCHANGE: {
                            "class": "idpyoidc.server.oidc.token_helper.token_exchange.TokenExchangeHelper",
                            "kwargs": {
                                "subject_token_types_supported": [ACCESS_TOKEN_TYPE],
                                "requested_token_types_supported": [ACCESS_TOKEN_TYPE],
                                "default_requested_token_type": ACCESS_TOKEN_TYPE,
                                "policy": {"": {
                                    "function": "idpyoidc.server.oauth2.token_helper.validate_token_exchange_policy",
                                    "kwargs": {"audience": list(audiences)},
                                }},
                            },
                        },
                    },
                },
            },
            "userinfo": {"path": "userinfo", "class": "idpyoidc.server.oidc.userinfo.UserInfo",
                         "kwargs": {"claim_types_supported": ["normal"]}},
        },
        "token_handler_args": {
            # Keys for the library's own opaque tokens (codes, refresh tokens).
            "jwks_def": {"private_path": str(state / "token_jwks.json"), "read_only": False,
                         "key_defs": [{"type": "oct", "bytes": 24, "use": ["enc"], "kid": "code"},
                                      {"type": "oct", "bytes": 24, "use": ["enc"], "kid": "refresh"}]},
            "code": {"kwargs": {"lifetime": 120}},
            "token": {"class": "idpyoidc.server.token.jwt_token.JWTToken",
                      "kwargs": {"lifetime": token_lifetime, "alg": "RS256", "add_claims_by_scope": True}},
            "refresh": {"kwargs": {"lifetime": 86400}},
            "id_token": {"class": "idpyoidc.server.token.id_token.IDToken",
                         "kwargs": {"lifetime": token_lifetime,
                                    "base_claims": {"email": None, "email_verified": None,
                                                    "preferred_username": None}}},
        },
    }


class Provider:
    """The idpyoidc server behind Flask. One request at a time: the library keeps its sessions in
    plain dictionaries."""

    def __init__(self, server, issue_refresh):
        self.server = server
        self.issue_refresh = issue_refresh
        self.lock = threading.Lock()

    def context(self):
        return self.server.get_context()

    def answer(self, endpoint, info):
        """A Flask response from `endpoint.do_response`'s answer."""
        redirecting = info.get("response_placement", endpoint.response_placement) == "url"
        if redirecting:
            response = redirect(info["response"])
        else:
            response = make_response(info["response"], info.get("response_code", 200))
        for name, value in info.get("http_headers", []):
            if not (redirecting and name.lower() == "content-type"):
                response.headers[name] = value
        cookies = info.get("cookie") or []
        for cookie in cookies if isinstance(cookies, list) else [cookies]:
            # The library's own cookies: a session cookie (its max-age is left out), or a deletion.
            expired = "expires" in cookie and "1970" in str(cookie["expires"])
            response.set_cookie(cookie["name"], cookie.get("value", ""), path="/", expires=0 if expired else None,
                                samesite=cookie.get("samesite", "Lax"), secure=bool(cookie.get("secure")),
                                httponly=bool(cookie.get("httponly", True)))
        return response

    @staticmethod
    def status(error):
        return 401 if error in ("invalid_client", "invalid_token") else 400

    def error(self, error, description, status=400):
        response = make_response(ResponseMessage(error=error, error_description=description).to_json(), status)
        response.headers["Content-Type"] = "application/json"
        response.headers["Cache-Control"] = "no-store"
        if error == "invalid_token":
            response.headers["WWW-Authenticate"] = f'Bearer error="invalid_token"'
        return response

    def serve(self, name):
        with self.lock:
            return self._serve(name)

    def _serve(self, name):
        endpoint = self.server.get_endpoint(name)
        http_info = {
            "headers": {k.lower(): v for k, v in request.headers.items() if k.lower() not in ("cookie", "user-agent")},
            "method": request.method,
            "url": request.url,
            "cookie": [{"name": k, "value": v} for k, v in request.cookies.items()],
        }
        # Every value of a repeated parameter (RFC 8693 allows several `audience`s).
        source = request.args if request.method == "GET" else request.form
        args = {key: values if len(values) > 1 else values[0] for key, values in source.lists()}
        try:
            parsed = endpoint.parse_request(args, http_info=http_info)
        except Exception as err:  # the library raises for failed client authentication
            logging.info("%s: parse_request refused: %r", name, err)
            kind = type(err).__name__
            if "Client" in kind or "Authentication" in kind or "Unknown" in kind:
                return self.error("invalid_client", str(err) or kind, 401)
            return self.error("invalid_request", str(err) or kind)
        if isinstance(parsed, ResponseMessage) and "error" in parsed:
            logging.info("%s: %s", name, parsed.to_dict())
            return self.error(parsed["error"], parsed.get("error_description", ""), self.status(parsed["error"]))
        try:
            if isinstance(endpoint, Token):
                extra = {}
                if parsed.get("grant_type") == "authorization_code" and self.issue_refresh:
                    extra["issue_refresh"] = True
                result = endpoint.process_request(parsed, http_info=http_info, **extra)
            else:
                result = endpoint.process_request(parsed, http_info=http_info)
        except Exception as err:
            logging.error("%s: %s", name, "".join(traceback.format_exception(err)))
            return self.error("server_error", str(err), 500)
        if isinstance(result, ResponseMessage) and "error" in result:
            logging.info("%s: %s", name, result.to_dict())
            return self.error(result["error"], result.get("error_description", ""), self.status(result["error"]))
        if "http_response" in result:  # the login page
            response = make_response(result["http_response"], 200)
            response.headers["Content-Type"] = "text/html; charset=utf-8"
            return response
        if "redirect_location" in result:
            return redirect(result["redirect_location"])
        info = endpoint.do_response(request=parsed, **result)
        if isinstance(endpoint, Token):
            info.setdefault("http_headers", []).append(("Cache-Control", "no-store"))
        return self.answer(endpoint, info)

    def verify_user(self):
        with self.lock:
            context = self.context()
            method = context.authn_broker.get_method_by_id("user")
            form = request.form.to_dict()
            try:
                username = method.verify(**form)
            except (FailedAuthentication, KeyError):
                return make_response("<!DOCTYPE html><p>Wrong user name or password.</p>", 403)
            try:
                token = method.unpack_token(form["token"])
            except Exception:
                return make_response("<!DOCTYPE html><p>The login form is not one of ours.</p>", 400)
            authz_request = AuthorizationRequest().from_urlencoded(token["query"])
            endpoint = self.server.get_endpoint("authorization")
            session_id = endpoint.create_session(authz_request, username, token["authn_class_ref"], token["iat"], method)
            result = endpoint.authz_part2(request=authz_request, session_id=session_id)
            if isinstance(result, ResponseMessage) and "error" in result:
                return self.error(result["error"], result.get("error_description", ""))
            return self.answer(endpoint, endpoint.do_response(request=authz_request, **result))


def build_app(provider):
    app = Flask(__name__)

    @app.route("/.well-known/openid-configuration")
    def discovery():
        return provider.serve("provider_config")

    @app.route("/jwks.json")
    def jwks():
        with provider.lock:
            keys = provider.server.keyjar.export_jwks(issuer_id="")
        response = make_response(json.dumps(keys))
        response.headers["Content-Type"] = "application/json"
        return response

    @app.route("/authorization")
    def authorization():
        return provider.serve("authorization")

    @app.route("/verify/user", methods=["POST"])
    def verify_user():
        return provider.verify_user()

    @app.route("/token", methods=["POST"])
    def token():
        return provider.serve("token")

    @app.route("/userinfo", methods=["GET", "POST"])
    def userinfo():
        return provider.serve("userinfo")

    return app


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--state-dir", required=True, type=Path, help="where keys, passwords and the port file go")
    parser.add_argument("--port", type=int, default=0, help="0 (the default): any free port")
    parser.add_argument("--gateway-url", action="append", default=[],
                        help="a gateway's public URL: allows URL/oauth2/callback as redirect URI (repeatable)")
    parser.add_argument("--redirect-uri", action="append", default=[], help="another allowed redirect URI")
    parser.add_argument("--issuer-url", help="the issuer, when not http://127.0.0.1:PORT")
    parser.add_argument("--token-lifetime", type=int, default=60, help="access and ID token lifetime, seconds")
    parser.add_argument("--audience", action="append", default=None,
                        help="an audience token exchange may ask for (repeatable; default: billing, reports)")
    parser.add_argument("--refresh-tokens", choices=["always", "offline_access"], default="always",
                        help="issue a refresh token with every code redemption, or only for scope offline_access")
    args = parser.parse_args(argv)
    audiences = args.audience or ["billing", "reports"]

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    state = args.state_dir.resolve()
    state.mkdir(parents=True, exist_ok=True)
    (state / "passwd.json").write_text(json.dumps(PASSWORDS))

    holder = {}
    http_server = make_server("127.0.0.1", args.port, lambda env, start: holder["app"](env, start), threaded=True)
    port = http_server.server_port
    issuer = (args.issuer_url or f"http://127.0.0.1:{port}").rstrip("/")

    server = Server(OPConfiguration(conf=op_config(issuer, state, args.token_lifetime, audiences), base_path=str(HERE)),
                    cwd=str(HERE))
    redirect_uris = [url.rstrip("/") + "/oauth2/callback" for url in args.gateway_url] + args.redirect_uri
    server.context.cdb[CLIENT_ID] = {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "client_salt": "exchange-op",
        "redirect_uris": [(uri, {}) for uri in redirect_uris],
        "post_logout_redirect_uri": [(url.rstrip("/") + "/", {}) for url in args.gateway_url],
        "token_endpoint_auth_method": "client_secret_basic",
        "grant_types_supported": ["authorization_code", "refresh_token", TOKEN_EXCHANGE],
        "response_types_supported": ["code"],
        "allowed_scopes": ["openid", "profile", "email", "offline_access"],
        "pkce_essential": True,
    }
    holder["app"] = build_app(Provider(server, issue_refresh=args.refresh_tokens == "always"))

    port_file = state / "port"
    (state / "port.tmp").write_text(str(port))
    os.replace(state / "port.tmp", port_file)
    logging.info("exchange OP %s listening on 127.0.0.1:%d; redirect URIs %s; audiences %s",
                 issuer, port, redirect_uris, audiences)
    http_server.serve_forever()


if __name__ == "__main__":
    main()
