# bash completion for tend. Install: copy to /usr/share/bash-completion/completions/tend
# (or source it from ~/.bashrc). The candidates come from `tend __complete`, which
# reads tend's own table of commands and options and asks the running server (of the
# --root on the line, or TEND_ROOT) for service and level names; it prints nothing
# when no server runs.

_tend() {
    local cur=${COMP_WORDS[COMP_CWORD]} line
    local IFS=$'\n'
    local -a found
    found=($("${COMP_WORDS[0]}" __complete -- "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null))
    COMPREPLY=()
    if [[ ${found[0]-} == ":directories" ]]; then
        compopt -o filenames 2>/dev/null
        COMPREPLY=($(compgen -d -- "$cur"))
        return 0
    fi
    # Each candidate may carry a description after a tab: bash shows the word only.
    for line in "${found[@]}"; do
        COMPREPLY+=("${line%%$'\t'*}")
    done
    return 0
}

complete -F _tend tend
