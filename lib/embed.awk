# embed.awk: turns the built-in config files into C string literals, so the library finds
# its built-in configs without knowing where share/ was installed.
BEGIN { print "/* Generated from the .cfg files of share/vgg by lib/embed.awk; do not edit. */"
        print "#include \"internal.h\""
        print "const struct vgg__builtin vgg__builtins[] = {" }
FNR == 1 { if (NR > 1) print "\t},"
           name = FILENAME; sub(/.*\//, "", name); sub(/\.cfg$/, "", name)
           printf "\t{\"%s\",\n", name }
{ line = $0; gsub(/\\/, "\\\\", line); gsub(/"/, "\\\"", line); printf "\t\t\"%s\\n\"\n", line }
END { print "\t},"; print "\t{0, 0}"; print "};" }
