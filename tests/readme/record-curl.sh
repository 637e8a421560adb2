# record-curl.sh — sourced by the script check-readme builds from README.md, before the
# README's blocks. It shadows curl with a function that runs the real curl and keeps, for each
# call, what the README sent and what the server answered; the block still sees the body on
# standard output. An HTTP error (4xx, 5xx) makes the call fail, so that `bash -e` stops at the
# README line that broke, as a person would notice it.
#   README_BASE   the test server's base URL (README.md's http://127.0.0.1:8080, rewritten)
#   README_BLOCK  the name of the block running (its <!-- readme-test: NAME --> marker)
#   README_CALLS  JSON Lines file: one object per call (block, request and response)
# The README's calls must not use -o, -w, -D or -i themselves: the wrapper uses them.

curl() {
    local dir prev="" a url="" args=()
    dir=$(mktemp -d "${README_CALLS%/*}/call.$(date +%s%N).XXXX")
    : >"$dir/headers"
    for a in "$@"; do
        case "$prev" in
        -d | --data | --data-raw | --data-binary | --json)
            if [ "$a" = @- ]; then
                cat >"$dir/request"
                a=@$dir/request
            elif [ "${a#@}" != "$a" ]; then
                cp -- "${a#@}" "$dir/request"
            else
                printf '%s' "$a" >"$dir/request"
            fi
            ;;
        -H | --header) printf '%s\n' "$a" >>"$dir/headers" ;;
        esac
        case "$a" in http://* | https://*) url=$a ;; esac
        args+=("$a")
        prev=$a
    done
    local rc=0
    command curl "${args[@]}" -o "$dir/body" -w '%{json}' >"$dir/meta" || rc=$?
    [ -f "$dir/body" ] || : >"$dir/body"
    local rest=${url#"$README_BASE"} query=""
    case "$rest" in *\?*) query=${rest#*\?} rest=${rest%%\?*} ;; esac
    local request=null
    if [ -f "$dir/request" ]; then
        request=$(jq -c . "$dir/request" 2>/dev/null) || request=$(jq -Rsc . "$dir/request")
    fi
    jq -nc --slurpfile m "$dir/meta" --rawfile b "$dir/body" --rawfile h "$dir/headers" \
        --arg block "$README_BLOCK" --arg path "$rest" --arg query "$query" --argjson request "$request" '
        $m[0] as $m
        | {block: $block, method: $m.method, path: $path, status: $m.response_code,
           content_type: ($m.content_type // ""), request: $request,
           request_headers: ($h | split("\n") | map(select(. != "")))}
        + (if $query != "" then {query: $query} else {} end)
        + (try {body: ($b | fromjson)} catch {text: $b})' >>"$README_CALLS"
    cat "$dir/body"
    local status
    status=$(jq -r .response_code "$dir/meta")
    if [ "$rc" -eq 0 ] && [ "$status" -ge 400 ]; then
        echo "README call answered $status: $(jq -r .method "$dir/meta") $url: $(head -c 400 "$dir/body")" >&2
        rc=22
    fi
    return "$rc"
}
