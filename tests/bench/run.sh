#!/usr/bin/env bash
echo "benchmarks not written yet"
