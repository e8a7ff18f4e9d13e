"""mxtls: is mail to a domain protected in transit?"""
