from oauth2_provider.oauth2_validators import OAuth2Validator


class ClaimsValidator(OAuth2Validator):
    """Adds the claims Porteiro maps: preferred_username, email and groups."""

    oidc_claim_scope = None  # every claim goes into the ID token, whatever the scope

    def get_additional_claims(self, request):
        user = request.user
        return {
            "preferred_username": user.username,
            "email": user.email,
            "groups": [group.name for group in user.groups.all()],
        }
