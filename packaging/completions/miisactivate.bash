# bash completion for miisactivate: miisactivate [FileName] [UserName {Password | *}] [/q]
_miisactivate() {
    local cur prev
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD-1]}
    case $prev in
        --install-dir) COMPREPLY=($(compgen -d -- "$cur")); return ;;
        --password-file) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --reason|--lease) return ;;
    esac
    if [[ $cur == -* || $cur == /* && ${#cur} -le 2 ]]; then
        COMPREPLY=($(compgen -W "/q /? -q --quiet -h --help --install-dir --password-file --dry-run --force --reason --lease --json --" -- "$cur"))
        return
    fi
    COMPREPLY=($(compgen -f -- "$cur"))
}
complete -o filenames -F _miisactivate miisactivate
