{#- Engine SQL (macros/engine/types.sql says how it is laid out): arrays
    unnested into rows. -#}


{#- One row per (row of `relation_sql`, epoch): the 1-based epoch and one
    column per array, zipped; rows run to the longest array, shorter ones are
    padded with NULL, empty/NULL arrays give no rows. -#}
{% macro butter_unnest_epochs(relation_sql, key_columns, arrays) -%}
    {{ return(adapter.dispatch('butter_unnest_epochs', 'butter')(relation_sql, key_columns, arrays)) }}
{%- endmacro %}

{#- posexplode of the zipped arrays: one row per position up to the longest
    array (arrays_zip pads with NULL); NULL arrays count as empty. Unnesting
    each array separately (47 generators) runs the JVM out of heap. -#}
{% macro default__butter_unnest_epochs(relation_sql, key_columns, arrays) -%}
    select
        {%- for key in key_columns %}
        zipped.{{ key }},
        {%- endfor %}
        cast(zipped.position + 1 as int) as epoch
        {%- for array in arrays %},
        zipped.element.{{ array }} as {{ array }}
        {%- endfor %}
    from (
        select
            {%- for key in key_columns %}
            coalesced.{{ key }},
            {%- endfor %}
            {#- arrays_zip names the struct fields after its arguments only when they are columns #}
            posexplode(arrays_zip(
                {%- for array in arrays %}
                coalesced.{{ array }}{{ ',' if not loop.last }}
                {%- endfor %}
            )) as (position, element)
        from (
            select
                {%- for key in key_columns %}
                source_rows.{{ key }},
                {%- endfor %}
                {%- for array in arrays %}
                coalesce(source_rows.{{ array }}, array()) as {{ array }}{{ ',' if not loop.last }}
                {%- endfor %}
            from {{ relation_sql }} as source_rows
        ) as coalesced
    ) as zipped
{%- endmacro %}

{% macro duckdb__butter_unnest_epochs(relation_sql, key_columns, arrays) -%}
    select
        {%- for key in key_columns %}
        sized.{{ key }},
        {%- endfor %}
        cast(unnest(generate_series(1, sized.num_positions)) as integer) as epoch
        {%- for array in arrays %},
        unnest(sized.{{ array }}) as {{ array }}
        {%- endfor %}
    from (
        select
            *,
            greatest(
                {%- for array in arrays %}
                coalesce(len({{ array }}), 0){{ ',' if not loop.last }}
                {%- endfor %}
            ) as num_positions
        from {{ relation_sql }}
    ) as sized
{%- endmacro %}


{#- One row per (row of `relation_sql`, list position): each list column
    unnested in step with the others (zipped; the lists are expected to be of
    equal length, shorter ones are padded with NULL), then the other columns
    (any select expressions), repeated on every row. -#}
{% macro butter_unnest_zipped(relation_sql, list_columns, other_columns) -%}
    {{ return(adapter.dispatch('butter_unnest_zipped', 'butter')(relation_sql, list_columns, other_columns)) }}
{%- endmacro %}

{#- Zipped with arrays_zip (fields named by position: its arguments are
    expressions) and exploded; NULL lists count as empty. -#}
{% macro default__butter_unnest_zipped(relation_sql, list_columns, other_columns) -%}
    select
        {%- for column in list_columns %}
        zipped.element.`{{ loop.index0 }}` as {{ column }},
        {%- endfor %}
        {%- for column in other_columns %}
        {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from (
        select
            *,
            explode(arrays_zip(
                {%- for column in list_columns %}
                coalesce({{ column }}, array()){{ ',' if not loop.last }}
                {%- endfor %}
            )) as element
        from {{ relation_sql }}
    ) as zipped
{%- endmacro %}

{% macro duckdb__butter_unnest_zipped(relation_sql, list_columns, other_columns) -%}
    select
        {%- for column in list_columns %}
        unnest({{ column }}) as {{ column }},
        {%- endfor %}
        {%- for column in other_columns %}
        {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ relation_sql }}
{%- endmacro %}
