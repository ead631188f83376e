# Inserted by pynsist into the demo shortcut's launcher, before ui.main:main runs.
import sys

sys.argv[1:1] = ["--demo"]
