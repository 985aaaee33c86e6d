Aimport json, zipfile
from xml.etree import ElementTree
