# Debian's chromium, the headless browser the web page's end-to-end test
# (test/e2e TestUI) drives with chromedp. Included by the Makefile.

CHROMIUM ?= /usr/bin/chromium
export GPUPLANE_CHROMIUM ?= $(CHROMIUM)

.PHONY: chromium

# The end-to-end tests open the extender's page in it.
e2e: chromium

chromium: ## install chromium (Debian package chromium) when absent, for the web page's e2e test
	@test -x $(CHROMIUM) || { apt-get update && apt-get install -y chromium; }
