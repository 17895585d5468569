"""watch sources beyond folders and feeds: sitemaps (and sitemap indexes) whose <lastmod>
spares the requests for unchanged pages, and sources.csv lists whose columns become the
documents' metadata. A real HTTP server on 127.0.0.1 (the feed test's); sentences written
for the test."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest

from secprio.cli import app
from secprio.errors import FetchError
from secprio.ingest import sitemaps as sitemaps
from secprio.project import Project
from tests.test_watch import RUN, _baseline, _burst, _Site


@pytest.fixture
def site(tmp_path: Path) -> Iterator[_Site]:
    folder = tmp_path / "site"
    folder.mkdir()
    _baseline(folder, n=6)
    _burst(folder, n=3)
    served = _Site(folder)
    yield served
    served.server.shutdown()
    served.server.server_close()


def _watch(project: Project, *extra: str) -> str:
    # a sitemap's pages carry no date: the window is the documents new in the cycle
    res = RUN.invoke(app, ["watch", "-p", str(project.root), "--once", "--interval", "0",
                           "--allow-private", "--window", "new", *extra])  # fmt: skip
    assert res.exit_code == 0, res.output
    return res.output


def _docs(site: _Site, name: str) -> int:
    return site.requests.get(f"/doc/{name}", 0)


def test_a_sitemap_skips_pages_whose_lastmod_did_not_change(wproject: Project, site: _Site) -> None:
    site.names = [f"base{i:02d}" for i in range(6)]
    out = _watch(wproject, "--source", site.url + "/sitemap.xml")
    assert "sitemap " in out and "6 page(s), 0 unchanged by lastmod; fetched 6" in out, out
    assert "added 6," in out
    out = _watch(wproject)  # nothing changed: the sitemap only, no page asked for
    assert "6 unchanged by lastmod; fetched 0, unchanged 0" in out and "nothing new" in out
    assert all(_docs(site, n) == 1 for n in site.names)
    changed = site.folder / "base01.md"  # an edited page with a new lastmod, and a new page
    changed.write_text(changed.read_text(encoding="utf-8") + "Trade grew.\n", "utf-8")
    site.lastmod["base01"] = "2025-12-01"
    site.names.append("new00")
    out = _watch(wproject)
    assert "7 page(s), 5 unchanged by lastmod; fetched 2" in out, out
    assert "added 1, new versions 1" in out
    assert _docs(site, "base01") == 2 and _docs(site, "base02") == 1
    assert site.requests["/sitemap.xml"] == 3
    assert len(Project.open(wproject.root).documents()) == 7


def test_a_sitemap_index_reads_only_the_sitemaps_that_changed(
    wproject: Project, site: _Site
) -> None:
    site.names = [f"base{i:02d}" for i in range(6)]
    out = _watch(wproject, "--source", site.url + "/sitemap-index.xml")
    assert "sitemap index" in out and "1 sitemap(s), 1 read" in out, out
    assert "added 6," in out
    site.names += ["new00", "new01", "new02"]  # a second sitemap appears
    out = _watch(wproject)
    assert "2 sitemap(s), 1 read" in out and "added 3," in out, out
    out = _watch(wproject)
    assert "2 sitemap(s), 0 read" in out and "nothing new" in out, out
    assert site.requests["/sitemap-base.xml"] == 1 and site.requests["/sitemap-new.xml"] == 1
    assert all(_docs(site, n) == 1 for n in site.names)


def test_a_sources_list_gives_its_metadata_to_what_is_fetched(
    wproject: Project, site: _Site, tmp_path: Path
) -> None:
    site.names = ["base00", "base01", "new00"]
    listed = tmp_path / "sources.csv"
    with listed.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["url", "title", "date", "doc_type", "issuer", "members"])
        w.writerow([f"{site.url}/doc/base00", "Summit declaration", "2024-11-06", "declaration",
                    "OTS", "AZ;KZ"])  # fmt: skip
        w.writerow([f"{site.url}/doc/base01", "", "2024-12-01", "", "", ""])
        w.writerow([f"{site.url}/doc/missing", "Gone", "", "", "", ""])
    out = _watch(wproject, "--source", str(listed))
    assert "3 URL(s); fetched 2, unchanged 0, failed 1" in out and "HTTP 404" in out, out
    docs = Project.open(wproject.root).documents().set_index("title")
    row = docs.loc["Summit declaration"]
    assert str(row["date"]) == "2024-11-06" and row["doc_type"] == "declaration"
    assert row["issuer"] == "OTS" and list(row["members"]) == ["AZ", "KZ"]
    assert (docs["date"].astype(str) == "2024-12-01").sum() == 1
    out = _watch(wproject)  # asked again with the ETag: 304
    assert "fetched 0, unchanged 2, failed 1" in out and "nothing new" in out, out
    assert _docs(site, "base00") == 2 and site.not_modified["/doc/base00"] == 1
    recorded = (wproject.root / "watch" / "sources.txt").read_text(encoding="utf-8")
    assert recorded.strip() == str(listed.resolve())


def test_a_feed_item_that_failed_is_retried_though_the_feed_did_not_change(
    wproject: Project, site: _Site
) -> None:
    site.names, site.feed_etag, site.broken = ["base00", "base01"], True, {"base01"}
    out = _watch(wproject, "--source", site.url + "/feed.xml")
    assert "fetched 1, unchanged 0, failed 1" in out and "HTTP 404" in out, out
    site.broken = set()  # the server is fixed; the feed is the same (its ETag too)
    out = _watch(wproject)
    assert "fetched 1, unchanged 1, failed 0" in out and "added 1," in out, out
    out = _watch(wproject)  # now the feed's ETag is kept: one request, a 304
    assert "unchanged (304)" in out and "nothing new" in out, out
    assert site.requests["/feed.xml"] == 3 and site.requests["/doc/base00"] == 2


def test_sitemap_xml_is_parsed_safely() -> None:
    ns = "http://www.sitemaps.org/schemas/sitemap/0.9"
    data = (f"<urlset xmlns='{ns}'><url><loc> https://x.test/a </loc><lastmod>2025-01-02"
            "</lastmod></url><url><loc>https://x.test/b</loc></url>"
            "<url><loc>https://x.test/a</loc></url><url><lastmod>2025</lastmod></url>"
            "</urlset>").encode()  # fmt: skip
    assert sitemaps.parse(data) == ("urlset", [sitemaps.Entry("https://x.test/a", "2025-01-02"),
                                               sitemaps.Entry("https://x.test/b")])  # fmt: skip
    index = f"<sitemapindex xmlns='{ns}'><sitemap><loc>https://x.test/s1.xml</loc></sitemap>"
    assert sitemaps.parse((index + "</sitemapindex>").encode())[0] == "sitemapindex"
    bomb = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><urlset>&a;</urlset>'
    for bad in (bomb, b"<rss/>", b"not xml"):
        assert sitemaps.root_kind(bad) == ""
        with pytest.raises(FetchError):
            sitemaps.parse(bad)
