"""The generator's reference tables, read from src/pbr/synthetic/data/, equal the literals they replaced.

Until the house issue (#18) these numbers were Python literals in ``pbr/synthetic.py``;
they are copied here verbatim (names as in :mod:`pbr.synthetic.reference`) so that a
data file edited by accident, or read with another type (an int read as a float changes
``effects.json``), fails here rather than silently changing the synthetic data.
"""

from __future__ import annotations

import numpy as np

from pbr.synthetic import reference
from pbr.synthetic.reference import Area

# name | region | population (thousands, 2011) | treatment need relative to its region
AREA_TABLE = """
County Durham|North East|513|1.1
Darlington|North East|106|1.2
Gateshead|North East|200|1.1
Hartlepool|North East|92|1.4
Middlesbrough|North East|138|1.6
Newcastle upon Tyne|North East|280|1.2
North Tyneside|North East|201|1.0
Northumberland|North East|316|0.8
Redcar and Cleveland|North East|135|1.2
South Tyneside|North East|148|1.2
Stockton-on-Tees|North East|191|1.1
Sunderland|North East|275|1.2
Blackburn with Darwen|North West|147|1.3
Blackpool|North West|142|2.0
Bolton|North West|276|1.0
Bury|North West|185|1.0
Cheshire East|North West|370|0.7
Cheshire West and Chester|North West|329|0.9
Cumbria|North West|499|0.8
Halton|North West|126|1.2
Knowsley|North West|146|1.3
Lancashire|North West|1172|0.9
Liverpool|North West|466|1.6
Manchester|North West|503|1.5
Oldham|North West|225|1.1
Rochdale|North West|212|1.2
Salford|North West|234|1.3
Sefton|North West|274|1.1
St Helens|North West|176|1.1
Stockport|North West|283|0.8
Tameside|North West|219|1.1
Trafford|North West|226|0.7
Warrington|North West|203|0.9
Wigan|North West|318|1.0
Wirral|North West|320|1.2
Barnsley|Yorkshire and The Humber|231|1.1
Bradford|Yorkshire and The Humber|522|1.2
Calderdale|Yorkshire and The Humber|204|1.0
Doncaster|Yorkshire and The Humber|302|1.2
East Riding of Yorkshire|Yorkshire and The Humber|334|0.6
Kingston upon Hull|Yorkshire and The Humber|257|1.5
Kirklees|Yorkshire and The Humber|423|0.9
Leeds|Yorkshire and The Humber|751|1.1
North East Lincolnshire|Yorkshire and The Humber|160|1.3
North Lincolnshire|Yorkshire and The Humber|167|0.9
North Yorkshire|Yorkshire and The Humber|598|0.6
Rotherham|Yorkshire and The Humber|258|1.1
Sheffield|Yorkshire and The Humber|552|1.1
Wakefield|Yorkshire and The Humber|325|1.0
York|Yorkshire and The Humber|198|0.9
Derby|East Midlands|248|1.2
Derbyshire|East Midlands|770|0.8
Leicester|East Midlands|330|1.1
Leicestershire|East Midlands|650|0.6
Lincolnshire|East Midlands|713|0.8
Northamptonshire|East Midlands|691|0.9
Nottingham|East Midlands|305|1.5
Nottinghamshire|East Midlands|786|0.9
Rutland|East Midlands|37|0.4
Birmingham|West Midlands|1073|1.2
Coventry|West Midlands|317|1.1
Dudley|West Midlands|313|0.9
Herefordshire|West Midlands|184|0.7
Sandwell|West Midlands|309|1.1
Shropshire|West Midlands|306|0.7
Solihull|West Midlands|207|0.7
Staffordshire|West Midlands|849|0.7
Stoke-on-Trent|West Midlands|249|1.4
Telford and Wrekin|West Midlands|166|1.1
Walsall|West Midlands|269|1.0
Warwickshire|West Midlands|546|0.7
Wolverhampton|West Midlands|250|1.2
Worcestershire|West Midlands|566|0.7
Bedford|East of England|157|1.1
Cambridgeshire|East of England|622|0.8
Central Bedfordshire|East of England|255|0.7
Essex|East of England|1393|0.8
Hertfordshire|East of England|1116|0.7
Luton|East of England|203|1.2
Norfolk|East of England|858|1.0
Peterborough|East of England|184|1.4
Southend-on-Sea|East of England|174|1.4
Suffolk|East of England|728|0.9
Thurrock|East of England|158|1.0
Barking and Dagenham|London|186|1.0
Barnet|London|356|0.6
Bexley|London|232|0.6
Brent|London|311|1.0
Bromley|London|310|0.6
Camden|London|220|1.5
Croydon|London|363|0.9
Ealing|London|338|0.9
Enfield|London|313|0.8
Greenwich|London|254|1.1
Hackney and City of London|London|253|1.4
Hammersmith and Fulham|London|182|1.3
Haringey|London|255|1.3
Harrow|London|239|0.5
Havering|London|237|0.6
Hillingdon|London|274|0.7
Hounslow|London|254|0.9
Islington|London|206|1.6
Kensington and Chelsea|London|159|1.2
Kingston upon Thames|London|160|0.6
Lambeth|London|303|1.5
Lewisham|London|276|1.1
Merton|London|200|0.7
Newham|London|308|0.9
Redbridge|London|279|0.6
Richmond upon Thames|London|187|0.6
Southwark|London|288|1.4
Sutton|London|190|0.6
Tower Hamlets|London|254|1.4
Waltham Forest|London|258|1.0
Wandsworth|London|307|0.9
Westminster|London|219|1.7
Bracknell Forest|South East|113|0.8
Brighton and Hove|South East|273|1.8
Buckinghamshire|South East|505|0.6
East Sussex|South East|527|1.0
Hampshire|South East|1318|0.8
Isle of Wight|South East|138|1.1
Kent|South East|1464|1.0
Medway|South East|264|1.2
Milton Keynes|South East|249|1.0
Oxfordshire|South East|654|0.8
Portsmouth|South East|205|1.4
Reading|South East|155|1.3
Slough|South East|140|1.1
Southampton|South East|237|1.4
Surrey|South East|1132|0.6
West Berkshire|South East|154|0.7
West Sussex|South East|806|0.8
Windsor and Maidenhead|South East|145|0.6
Wokingham|South East|154|0.5
Bath and North East Somerset|South West|176|0.9
Bournemouth and Poole|South West|330|1.3
Bristol|South West|428|1.5
Cornwall and Isles of Scilly|South West|534|1.1
Devon|South West|746|0.9
Dorset|South West|413|0.7
Gloucestershire|South West|596|0.9
North Somerset|South West|202|0.9
Plymouth|South West|256|1.4
Somerset|South West|529|0.9
South Gloucestershire|South West|262|0.7
Swindon|South West|209|1.2
Torbay|South West|131|1.4
Wiltshire|South West|471|0.8
"""

REGION_NEED = {
    "North East": 1.35,
    "North West": 1.35,
    "Yorkshire and The Humber": 1.2,
    "East Midlands": 1.0,
    "West Midlands": 1.05,
    "East of England": 0.8,
    "London": 1.1,
    "South East": 0.8,
    "South West": 0.95,
}


SUBSTANCE_GROUP = np.array([0, 0, 0, 1, 2, 4, 3, 5, 6, 5])

# primary substance of a new drug client (adult / under 18), and the drug an alcohol client
# reports if they later present for drugs
P_PRIMARY_DRUG = np.array([0.55, 0.02, 0.03, 0.08, 0.09, 0.05, 0.12, 0.02, 0.0, 0.04])
P_PRIMARY_DRUG_UNDER18 = np.array([0.02, 0.0, 0.0, 0.02, 0.06, 0.04, 0.75, 0.03, 0.0, 0.08])
P_DRUG_OF_ALCOHOL_CLIENT = np.array([0.0, 0.0, 0.0, 0.0, 0.35, 0.10, 0.45, 0.0, 0.0, 0.10])
# secondary substance given the primary's group (10 substances + none)
P_OTHER_SUBSTANCE = np.array(
    [
        # her  meth  oop  crack coc  amph  cann benzo alc  oth  none
        [0.00, 0.00, 0.00, 0.45, 0.04, 0.02, 0.10, 0.08, 0.10, 0.01, 0.20],  # opiate
        [0.10, 0.00, 0.00, 0.00, 0.10, 0.00, 0.25, 0.00, 0.20, 0.05, 0.30],  # crack
        [0.00, 0.00, 0.00, 0.05, 0.00, 0.00, 0.20, 0.00, 0.35, 0.05, 0.35],  # cocaine
        [0.00, 0.00, 0.00, 0.00, 0.12, 0.08, 0.00, 0.00, 0.25, 0.10, 0.45],  # cannabis
        [0.00, 0.00, 0.00, 0.00, 0.10, 0.00, 0.30, 0.00, 0.20, 0.05, 0.35],  # amphetamine
        [0.10, 0.00, 0.00, 0.00, 0.10, 0.00, 0.20, 0.00, 0.20, 0.00, 0.40],  # other drug
        [0.00, 0.00, 0.00, 0.00, 0.10, 0.02, 0.12, 0.03, 0.00, 0.03, 0.70],  # alcohol
    ]
)
P_THIRD_SUBSTANCE = np.array([0.35, 0.25, 0.2, 0.2, 0.2, 0.2, 0.15])
# person injecting history by group: current, previous, never, declined
P_INJECTING_HISTORY = np.array(
    [
        [0.30, 0.30, 0.38, 0.02],
        [0.08, 0.15, 0.75, 0.02],
        [0.02, 0.06, 0.90, 0.02],
        [0.01, 0.04, 0.93, 0.02],
        [0.08, 0.10, 0.80, 0.02],
        [0.04, 0.08, 0.86, 0.02],
        [0.01, 0.04, 0.93, 0.02],
    ]
)
P_PREVIOUSLY_TREATED = np.array(
    [0.60, 0.40, 0.25, 0.20, 0.30, 0.30, 0.30]
)  # treated before the extract starts
AGE_MEAN = np.array([36.0, 33.0, 29.0, 26.0, 32.0, 32.0, 44.0])
AGE_SD = np.array([8.0, 8.0, 8.0, 9.0, 9.0, 10.0, 11.0])
P_REFERRAL_SOURCE = np.array(
    [
        [0.38, 0.08, 0.32, 0.14, 0.08],
        [0.35, 0.07, 0.35, 0.15, 0.08],
        [0.45, 0.12, 0.18, 0.15, 0.10],
        [0.45, 0.12, 0.18, 0.15, 0.10],
        [0.45, 0.12, 0.18, 0.15, 0.10],
        [0.45, 0.12, 0.18, 0.15, 0.10],
        [0.38, 0.25, 0.07, 0.22, 0.08],
    ]
)
P_EMPLOYMENT = np.array(
    [[0.10, 0.68, 0.22], [0.14, 0.62, 0.24], [0.35, 0.45, 0.20]]
)  # opiate/crack, other drug, alcohol
P_ACCOMMODATION_NEED = np.array([0.20, 0.18, 0.10, 0.10, 0.12, 0.10, 0.08])
DAYS_USED_BETA = np.array(
    [[4.0, 1.2], [2.0, 1.5], [1.5, 2.5], [4.0, 1.2], [2.0, 2.0], [1.5, 1.5], [3.0, 1.2]]
)
P_LONG_TREATMENT = np.array(
    [0.55, 0.35, 0.15, 0.12, 0.20, 0.20, 0.15]
)  # still in treatment at 12 months (non-completers)

# logistic covariate effects per outcome (reference: age <25, male, opiate, current injector
# for 'inj' index 0, self referral; days centred at 14, scores at 10)
COEFFICIENTS = {
    "treatment_initiation": dict(
        age=(0, 0.05, 0.10, 0.15),
        female=0.10,
        grp=(0.3, 0, 0, -0.1, 0, 0, 0),
        inj=(0, 0, 0, -0.2),
        prev=0.2,
        ref=(0, 0.2, -0.4, 0.1, 0),
        days=0.0,
        qol=0.01,
        psych=0.0,
        phys=0.0,
        accom=-0.2,
    ),
    "waiting_over_3_weeks": dict(
        age=(0, 0, 0, 0),
        female=0.0,
        grp=(0.3, 0.1, 0, 0, 0, 0, 0),
        inj=(0, 0, 0, 0),
        prev=0.0,
        ref=(0, 0.2, -0.5, 0, 0),
        days=0.0,
        qol=0.0,
        psych=0.0,
        phys=0.0,
        accom=0.0,
    ),
    "successful_completion": dict(
        age=(-0.15, 0, 0.05, 0.15),
        female=0.05,
        grp=(0, 0.4, 1.2, 1.3, 0.9, 0.9, 0),
        inj=(-0.3, -0.15, 0, 0),
        prev=-0.25,
        ref=(0, 0.15, -0.25, 0.05, 0),
        days=-0.015,
        qol=0.03,
        psych=0.02,
        phys=0.01,
        accom=-0.2,
    ),
    "abstinence": dict(
        age=(-0.1, 0, 0.1, 0.2),
        female=0.05,
        grp=(-0.4, -0.2, 0.4, -0.2, 0.2, 0.2, 0),
        inj=(-0.3, -0.1, 0, 0),
        prev=-0.1,
        ref=(0, 0.1, 0, 0, 0),
        days=-0.04,
        qol=0.03,
        psych=0.02,
        phys=0.0,
        accom=-0.2,
    ),
    "non_injecting": dict(
        age=(0, 0.05, 0.1, 0.15),
        female=0.1,
        grp=(0, 0.1, 0.2, 0.2, 0, 0, 0),
        inj=(0, 0, 0, 0),
        prev=-0.1,
        ref=(0, 0, 0, 0, 0),
        days=-0.02,
        qol=0.02,
        psych=0.0,
        phys=0.0,
        accom=-0.2,
    ),
    "housing_problem": dict(
        age=(0.1, 0, 0, -0.1),
        female=-0.1,
        grp=(0.3, 0.3, 0, 0, 0.1, 0, 0),
        inj=(0.3, 0, 0, 0),
        prev=0.1,
        ref=(0, 0, 0.3, 0.1, 0),
        days=0.01,
        qol=-0.03,
        psych=0.0,
        phys=0.0,
        accom=2.0,
    ),
    "drug_related_death": dict(
        age=(-0.3, 0, 0.3, 0.5),
        female=-0.4,
        grp=(1.5, 0.5, 0, -0.8, 0, 0.3, 0),
        inj=(0.5, 0.2, 0, 0),
        prev=0.2,
        ref=(0, 0, 0, 0, 0),
        days=0.02,
        qol=-0.02,
        psych=0.0,
        phys=0.0,
        accom=0.3,
    ),
    "acquisitive_crime": dict(
        age=(0.3, 0.1, -0.1, -0.5),
        female=-0.4,
        grp=(1.0, 1.0, 0.2, 0, 0.3, 0, 0),
        inj=(0.2, 0.1, 0, 0),
        prev=0.2,
        ref=(0, -0.3, 0.8, 0, 0),
        days=0.02,
        qol=-0.02,
        psych=0.0,
        phys=0.0,
        accom=0.3,
    ),
}
COEFFICIENTS["completion_without_representation"] = COEFFICIENTS[
    "successful_completion"
]  # shares completion's predictor (nesting)

# deaths from other causes within a year of journey start, by cohort and age group
P_OTHER_CAUSE_DEATH = np.array([[0.002, 0.004, 0.007, 0.015], [0.003, 0.006, 0.012, 0.025]])
# yearly death hazard after the last journey's first year, by group; share that are drug poisonings
LATER_DEATH_HAZARD = np.array([0.012, 0.006, 0.004, 0.003, 0.005, 0.005, 0.020])
LATER_DEATH_POISONING_SHARE = np.array([0.45, 0.30, 0.25, 0.15, 0.25, 0.30, 0.05])
LATER_DEATH_AGE_FACTOR = np.array([0.6, 0.8, 1.0, 1.5])
RELATIVE_OFFENDING = np.array([1.0, 1.0, 0.45, 0.35, 0.5, 0.45, 0.25])  # relative background offending

DRUG_POISONING_CAUSES = {
    "X42": 0.40, "X44": 0.10, "X41": 0.05, "X40": 0.02, "X43": 0.005, "X62": 0.08, "X61": 0.04,
    "X64": 0.03, "X60": 0.01, "X63": 0.005, "Y12": 0.05, "Y11": 0.01, "Y14": 0.01, "X85": 0.005,
    "F112": 0.10, "F119": 0.03, "F142": 0.01, "F192": 0.03, "F132": 0.005, "F152": 0.005,
}  # fmt: skip
CAUSES_DRUG_CLIENT_OTHER = {
    "I219": 0.06, "I251": 0.05, "C349": 0.06, "K703": 0.08, "K746": 0.05, "J449": 0.08, "J189": 0.07,
    "B182": 0.05, "B24": 0.03, "G409": 0.04, "X70": 0.05, "X59": 0.03, "W19": 0.03, "V892": 0.03,
    "R99": 0.03, "I269": 0.03, "A419": 0.04, "L031": 0.02, "I330": 0.02, "F102": 0.05, "X45": 0.03,
}  # fmt: skip
CAUSES_ALCOHOL_CLIENT_OTHER = {
    "K703": 0.25, "K709": 0.08, "K740": 0.05, "F102": 0.10, "I219": 0.08, "C349": 0.06, "C220": 0.04,
    "J449": 0.06, "J189": 0.06, "I64": 0.04, "X45": 0.04, "W19": 0.04, "X70": 0.03, "R99": 0.02,
    "I426": 0.03, "K852": 0.02,
}  # fmt: skip
CAUSES_ELDERLY = {
    "I219": 0.10, "I251": 0.10, "I64": 0.08, "C349": 0.07, "J449": 0.07, "F03": 0.08, "G309": 0.05,
    "J189": 0.07, "C509": 0.03, "C61": 0.03, "C189": 0.03, "I500": 0.04, "N390": 0.02, "R54": 0.03,
    "I639": 0.04, "C259": 0.02, "J841": 0.02, "E149": 0.02, "I48": 0.02, "W19": 0.02, "K703": 0.01,
}  # fmt: skip
CAUSES_WORKING_AGE = {
    "I219": 0.10, "C349": 0.06, "C509": 0.05, "K703": 0.07, "X42": 0.03, "X44": 0.01, "X62": 0.01,
    "F112": 0.01, "X70": 0.05, "V892": 0.04, "W19": 0.03, "C189": 0.04, "I251": 0.07, "J449": 0.04,
    "G409": 0.03, "I64": 0.03, "C719": 0.03, "J189": 0.04, "E149": 0.02, "K746": 0.02, "R99": 0.03,
    "C259": 0.02, "I420": 0.02, "X59": 0.02,
}  # fmt: skip


P_ACQUISITIVE_GROUP = np.array([0.45, 0.18, 0.12, 0.04, 0.07, 0.08, 0.06])
P_OTHER_OFFENCE_GROUP = np.array([0.25, 0.22, 0.06, 0.15, 0.12, 0.12, 0.08])


# First names (England, people born 1960-1995; relative weights) and surnames (% of people).
MALE_FORENAMES = """David 40 Paul 36 Mark 35 Michael 34 Andrew 30 John 29 Stephen 26 Richard 22 Robert 21
Christopher 24 James 24 Peter 15 Ian 15 Darren 18 Lee 17 Daniel 20 Matthew 19 Anthony 14 Gary 16 Steven 14
Jason 15 Simon 14 Craig 13 Neil 12 Kevin 11 Martin 11 Wayne 12 Dean 10 Carl 10 Scott 11 Thomas 12
Jonathan 9 Nicholas 9 Shaun 8 Adam 11 Philip 8 Alan 8 Stuart 8 Graham 6 Keith 6 Kenneth 4 Brian 5 Colin 5
Gavin 5 Jamie 9 Ryan 9 Russell 4 Barry 5 Terry 4 Sean 7 Kieran 4 Liam 8 Benjamin 7 Luke 8 Karl 5 Glen 4
Tony 5 Trevor 4 Raymond 4 Roger 3 William 7 George 4 Joseph 6 Samuel 5 Aaron 6 Ashley 6 Jake 4 Joshua 5
Nathan 6 Marc 4 Dale 4 Leon 4 Mohammed 5 Imran 2 Ricky 4 Kyle 4 Jordan 4 Robin 2 Derek 3 Gareth 4 Jeffrey 2
Dennis 2 Frank 2 Francis 2 Patrick 4 Edward 4 Alexander 4 Oliver 3 Bradley 3 Charles 3 Damien 3 Nigel 3"""
FEMALE_FORENAMES = """Sarah 30 Claire 22 Lisa 24 Nicola 20 Emma 22 Michelle 20 Karen 18 Joanne 18 Julie 16
Helen 15 Rachel 16 Louise 15 Kelly 15 Donna 12 Amanda 12 Samantha 13 Tracey 10 Laura 14 Gemma 12 Victoria 12
Rebecca 13 Susan 10 Deborah 9 Dawn 8 Elizabeth 8 Catherine 8 Natalie 9 Hayley 9 Kerry 8 Stacey 8 Jodie 7
Leanne 8 Zoe 7 Katie 7 Amy 9 Charlotte 8 Jessica 6 Hannah 6 Jade 6 Jennifer 6 Angela 8 Alison 7 Caroline 7
Sharon 8 Tracy 6 Wendy 5 Jacqueline 5 Linda 5 Paula 6 Mandy 4 Kirsty 6 Danielle 7 Stephanie 6 Sophie 5
Lucy 5 Kimberley 5 Carly 5 Lauren 6 Anna 5 Vicky 3 Jane 6 Sally 4 Melanie 5 Lorraine 4 Joanna 4 Marie 4
Sian 3 Jemma 3 Toni 3 Charlene 3 Diane 4 Christine 4 Tina 3 Andrea 4 Janet 3 Heather 3 Natasha 4 Leah 3"""
SURNAMES = """Smith 1.15 Jones 0.94 Williams 0.68 Taylor 0.55 Brown 0.54 Davies 0.48 Evans 0.38 Wilson 0.38
Thomas 0.36 Johnson 0.36 Roberts 0.34 Robinson 0.31 Thompson 0.31 Wright 0.30 Walker 0.29 White 0.28
Edwards 0.27 Hughes 0.27 Green 0.26 Hall 0.26 Lewis 0.26 Harris 0.25 Clarke 0.25 Patel 0.24 Jackson 0.23
Wood 0.23 Turner 0.22 Martin 0.22 Cooper 0.21 Hill 0.21 Ward 0.21 Morris 0.21 Moore 0.21 Clark 0.20
Lee 0.20 King 0.20 Baker 0.20 Harrison 0.20 Morgan 0.19 Allen 0.19 James 0.18 Scott 0.18 Phillips 0.18
Watson 0.18 Davis 0.17 Parker 0.17 Price 0.17 Bennett 0.17 Young 0.17 Griffiths 0.16 Mitchell 0.16
Kelly 0.16 Cook 0.16 Carter 0.16 Richardson 0.16 Bailey 0.15 Collins 0.15 Bell 0.15 Shaw 0.15 Murphy 0.15
Miller 0.15 Cox 0.15 Richards 0.14 Khan 0.14 Marshall 0.14 Anderson 0.14 Simpson 0.14 Ellis 0.14
Adams 0.14 Singh 0.13 Begum 0.13 Wilkinson 0.13 Foster 0.13 Chapman 0.13 Powell 0.13 Webb 0.13 Rogers 0.13
Gray 0.13 Mason 0.12 Ali 0.12 Hunt 0.12 Hussain 0.12 Campbell 0.12 Matthews 0.12 Owen 0.12 Palmer 0.12
Holmes 0.12 Mills 0.12 Barnes 0.11 Knight 0.11 Lloyd 0.11 Butler 0.11 Russell 0.11 Barker 0.11
Fisher 0.11 Stevens 0.11 Jenkins 0.11 Murray 0.11 Dixon 0.11 Harvey 0.11"""
# share of surnames by initial letter (England, approximate)
SURNAME_INITIALS = dict(
    S=0.098, B=0.092, H=0.078, M=0.077, C=0.074, W=0.064, P=0.05, R=0.048, G=0.047, T=0.043, D=0.045,
    L=0.043, F=0.032, K=0.028, J=0.025, A=0.03, N=0.017, E=0.017, O=0.012, V=0.006, Y=0.004, I=0.004,
    Q=0.001, U=0.002, Z=0.002, X=0.0003,
)  # fmt: skip
SURNAME_ONSETS = dict(
    A=("Ab", "Ad", "Al", "An", "Ar", "Ash", "Atk"), B=("B", "Bl", "Br", "Bur", "Bel", "Bow"),
    C=("C", "Ch", "Cl", "Cr", "Cor", "Col"), D=("D", "Dr", "Dun", "Dal"), E=("Ed", "El", "Em", "En", "Ev", "Esk"),
    F=("F", "Fl", "Fr", "Far"), G=("G", "Gr", "Gl", "Gil"), H=("H", "Har", "Hol", "Hen", "Hul"),
    I=("Ib", "Il", "In", "Ir", "Is"), J=("J", "Jen", "Jar"), K=("K", "Kn", "Ker", "Kil"), L=("L", "Lan", "Lov"),
    M=("M", "Mar", "Mor", "Mel", "Mac"), N=("N", "Nor", "New"), O=("Ob", "Ol", "On", "Or", "Os"),
    P=("P", "Pr", "Pen", "Pl"), Q=("Qu",), R=("R", "Rad", "Ros", "Ry"), S=("S", "Sh", "St", "Sw", "Sm", "Sl", "Sp"),
    T=("T", "Tr", "Th", "Tol"), U=("Ul", "Un", "Up", "Ur"), V=("V", "Ver", "Vin"), W=("W", "Wh", "Wr", "Wil"),
    X=("X",), Y=("Y", "Yar"), Z=("Z", "Zel"),
)  # fmt: skip
VOWELS = ("a", "e", "i", "o", "u", "ai", "ea", "ee", "oo", "ow", "ar", "er", "or", "ay")
CODAS = ("b", "ck", "d", "dd", "g", "l", "ll", "m", "n", "nd", "ng", "nt", "r", "rd", "rk", "rt", "s", "st", "t",
          "tt", "v", "w", "sh", "th")  # fmt: skip
SURNAME_ENDINGS = ("", "s", "son", "er", "ley", "ton", "ford", "field", "well", "wood", "by", "ham", "worth", "combe",
            "den", "ridge", "stone", "shaw", "hurst", "man", "ett", "ington", "ick", "more", "cott", "low", "land",
            "wick", "ell", "ing")  # fmt: skip
MALE_FORENAME_ENDINGS = ("", "an", "on", "el", "ie", "o", "us", "in", "ick", "ard", "ert", "y")
FEMALE_FORENAME_ENDINGS = ("a", "ia", "ie", "elle", "ette", "ine", "ey", "ah", "ina", "ene", "issa", "y")
FORENAME_ONSETS = ("B", "D", "J", "K", "L", "M", "N", "R", "S", "T", "Br", "Ch", "Cl", "Gr", "St", "Tr", "Sh",
                 "C", "G", "H", "P", "V", "W", "A", "E", "F", "Al", "El")  # fmt: skip


def _parse_names(text: str) -> tuple[list[str], np.ndarray]:
    parts = text.split()
    return parts[0::2], np.array(parts[1::2], dtype=float)


ARRAYS = [
    "SUBSTANCE_GROUP",
    "P_PRIMARY_DRUG",
    "P_PRIMARY_DRUG_UNDER18",
    "P_DRUG_OF_ALCOHOL_CLIENT",
    "P_OTHER_SUBSTANCE",
    "P_THIRD_SUBSTANCE",
    "P_INJECTING_HISTORY",
    "P_PREVIOUSLY_TREATED",
    "AGE_MEAN",
    "AGE_SD",
    "P_REFERRAL_SOURCE",
    "P_EMPLOYMENT",
    "P_ACCOMMODATION_NEED",
    "DAYS_USED_BETA",
    "P_LONG_TREATMENT",
    "P_OTHER_CAUSE_DEATH",
    "LATER_DEATH_HAZARD",
    "LATER_DEATH_POISONING_SHARE",
    "LATER_DEATH_AGE_FACTOR",
    "RELATIVE_OFFENDING",
    "P_ACQUISITIVE_GROUP",
    "P_OTHER_OFFENCE_GROUP",
]


def test_arrays_equal_the_old_literals():
    for name in ARRAYS:
        old, new = globals()[name], getattr(reference, name)
        assert new.dtype == old.dtype and new.shape == old.shape, name
        assert np.array_equal(new, old), name


def test_areas_equal_the_old_table():
    rows = [line.split("|") for line in AREA_TABLE.strip().splitlines()]
    assert list(reference.AREAS) == [Area(n, r, float(p), float(x)) for n, r, p, x in rows]
    assert reference.REGION_NEED == REGION_NEED and list(reference.REGION_NEED) == list(REGION_NEED)


def test_coefficients_equal_the_old_literals_with_their_types():
    # repr tells 0 from 0.0 and a tuple from a list: effects.json reports these values as they are
    assert repr(reference.COEFFICIENTS) == repr(COEFFICIENTS)
    assert (
        reference.COEFFICIENTS["completion_without_representation"]
        is reference.COEFFICIENTS["successful_completion"]
    )


def test_causes_of_death_equal_the_old_literals_in_order():
    for name in (
        "DRUG_POISONING_CAUSES",
        "CAUSES_DRUG_CLIENT_OTHER",
        "CAUSES_ALCOHOL_CLIENT_OTHER",
        "CAUSES_ELDERLY",
        "CAUSES_WORKING_AGE",
    ):
        assert list(getattr(reference, name).items()) == list(globals()[name].items()), name


def test_names_equal_the_old_literals():
    for name in ("MALE_FORENAMES", "FEMALE_FORENAMES", "SURNAMES"):
        (old_names, old_w), (new_names, new_w) = _parse_names(globals()[name]), getattr(reference, name)
        assert new_names == old_names and new_w.dtype == old_w.dtype and np.array_equal(new_w, old_w), name
    assert list(reference.SURNAME_INITIALS.items()) == list(SURNAME_INITIALS.items())
    assert list(reference.SURNAME_ONSETS.items()) == list(SURNAME_ONSETS.items())
    for name in (
        "VOWELS",
        "CODAS",
        "SURNAME_ENDINGS",
        "MALE_FORENAME_ENDINGS",
        "FEMALE_FORENAME_ENDINGS",
        "FORENAME_ONSETS",
    ):
        assert getattr(reference, name) == globals()[name], name
