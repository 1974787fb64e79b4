# bash completion for miisactivate: miisactivate [FileName] [UserName {Password | *}] [/q]
# The options are those of Sources/miisactivate/ActivateCommandLine.swift (a test compares them).
_miisactivate() {
    local cur prev
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD-1]}
    case $prev in
        --install-dir) COMPREPLY=($(compgen -d -- "$cur")); return ;;
        --password-file) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --reason|--lease) COMPREPLY=(); return ;;
    esac
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "-q -h -v --quiet --help --version --install-dir --password-file --dry-run --force --reason --lease --json --verbose --allow-weak-kdf --" -- "$cur"))
        return
    fi
    # A word starting with / is a path as often as a switch (/var/backups/miis_keys.bin): offer
    # the reference's switches that match, and the paths.
    COMPREPLY=($(compgen -f -- "$cur"))
    if [[ $cur == /* ]]; then
        COMPREPLY+=($(compgen -W "/q /?" -- "$cur"))
    fi
}
complete -o filenames -F _miisactivate miisactivate
