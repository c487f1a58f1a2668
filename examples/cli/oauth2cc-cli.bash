# oauth2cc: OAuth 2.0 client-credentials tokens for C++17 machine clients.
# oauth2cc-cli.bash: bash completion for oauth2cc-cli: its commands, options and their
# values (methods, algorithms, files). Installed as
# share/bash-completion/completions/oauth2cc-cli; or source it from ~/.bashrc.
# SPDX-License-Identifier: MIT

_oauth2cc_cli() {
    local cur=${COMP_WORDS[COMP_CWORD]}
    local prev=""
    ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
    local IFS=$' \t\n'
    COMPREPLY=()

    # The value an option takes.
    case $prev in
        --auth)
            mapfile -t COMPREPLY < <(compgen -W "basic post none client_secret_basic
                client_secret_post client_secret_jwt private_key_jwt client_assertion
                tls_client_auth self_signed_tls_client_auth" -- "$cur")
            return 0 ;;
        --grant)
            mapfile -t COMPREPLY < <(compgen -W "client_credentials token_exchange jwt_bearer" \
                -- "$cur")
            return 0 ;;
        --subject-token-type | --actor-token-type | --requested-token-type)
            mapfile -t COMPREPLY < <(compgen -W "access_token refresh_token id_token jwt saml1
                saml2" -- "$cur")
            return 0 ;;
        --client-key-alg)
            mapfile -t COMPREPLY < <(compgen -W "RS256 PS256 ES256 ES384 EdDSA" -- "$cur")
            return 0 ;;
        --basic-encoding)
            mapfile -t COMPREPLY < <(compgen -W "form raw" -- "$cur")
            return 0 ;;
        --format)
            mapfile -t COMPREPLY < <(compgen -W "json raw header text kubectl" -- "$cur")
            return 0 ;;
        -X | --request)
            mapfile -t COMPREPLY < <(compgen -W "GET POST PUT PATCH DELETE HEAD" -- "$cur")
            return 0 ;;
        --client-secret-file | --client-key | --client-assertion-file | --cert | --key | \
            --dpop-key | --ca-file | --seal-key-file | --redis-url-file | \
            --subject-token-file | --actor-token-file | --assertion-file | --grant-key | \
            --token-file | --config)
            mapfile -t COMPREPLY < <(compgen -f -- "$cur")
            return 0 ;;
        --cache)
            if [[ $cur != -* ]]; then
                mapfile -t COMPREPLY < <(compgen -d -- "$cur")
                return 0
            fi ;;
        --token-url | --issuer | --client-id | --client-secret | --client-key-id | \
            --assertion-audience | --scope | --audience | --resource | --redis | --proxy | \
            --grant-key-id | --assertion-subject | --revocation-url | -d | --data | -H | --header)
            return 0 ;;  # free text: nothing to offer
    esac

    # The command given so far, if any.
    local command="" i
    for ((i = 1; i < COMP_CWORD; i++)); do
        case ${COMP_WORDS[i]} in
            token | call | revoke) command=${COMP_WORDS[i]}; break ;;
        esac
    done

    local options="-h --help --version --config --token-url --issuer --client-id --client-secret-file
        --client-secret --auth --client-key --client-key-id --client-key-alg
        --client-assertion-file --cert --key --dpop --dpop-key --assertion-audience --grant
        --subject-token-file --subject-token-type --actor-token-file --actor-token-type
        --requested-token-type --assertion-file --grant-key --grant-key-id --assertion-subject
        --basic-encoding --scope --audience --resource --ca-file --allow-insecure-http
        --revocation-url --cache --redis --redis-url-file --seal-key-file --proxy"
    if [[ $command == call ]]; then
        options+=" -X --request -d --data -H --header"
    elif [[ $command == revoke ]]; then
        options+=" --token-file"
    elif [[ $command == token ]]; then
        options+=" --format"
    fi
    if [[ $cur == -* ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$options" -- "$cur")
    elif [[ -z $command ]]; then
        mapfile -t COMPREPLY < <(compgen -W "token call revoke" -- "$cur")
    fi
    return 0
}
complete -F _oauth2cc_cli oauth2cc-cli
