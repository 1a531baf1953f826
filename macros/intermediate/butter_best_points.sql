{#- Each run copy's best and final points, and each summary copy's median
    curves' best and final points, in the decode store's one pass over its
    arrays (butter_copies_unioned; marts.run_best_epochs and
    marts.experiment_summary read the located copy's; the unit tests
    run_best_epochs_non_finite_ties_and_empty_arrays and
    experiment_summary_best_and_final_from_median_curve feed these macros their
    arrays). In two steps, because the epoch of a best value is found after the
    value: -#}


{#- 1. Over a row holding the run arrays (test_loss, test_accuracy, ...): for
    each metric of butter_best_point_metrics the best finite value
    (`best_<metric>`: the minimum of a loss or error, the maximum of an
    accuracy; NULL when none is finite), the array's length (`num_epochs`), its
    finite test losses (`num_finite_test_loss`) and the last test and train
    losses as stored (`last_test_loss`, `last_train_loss`). A select list. -#}
{% macro butter_best_point_values() -%}
    {%- set columns = [] -%}
    {%- for best in butter_best_point_metrics() -%}
        {%- do columns.append(butter_list_best_finite(best.metric, best.best) ~ ' as best_' ~ best.metric) -%}
    {%- endfor -%}
    {%- do columns.append(butter_array_length('test_loss') ~ ' as num_epochs') -%}
    {%- do columns.append(butter_array_length(butter_list_finite('test_loss')) ~ ' as num_finite_test_loss') -%}
    {%- do columns.append(butter_list_element('test_loss', butter_array_length('test_loss')) ~ ' as last_test_loss') -%}
    {%- do columns.append(butter_list_element('train_loss', butter_array_length('train_loss')) ~ ' as last_train_loss') -%}
    {{- return(columns | join(',\n')) -}}
{%- endmacro %}


{#- 2. Over a row holding the arrays and step 1's values: the earliest 1-based
    epoch of each best value (`best_<metric>_epoch`, NULL when the value is
    NULL). A select list. -#}
{% macro butter_best_point_epochs() -%}
    {%- set columns = [] -%}
    {%- for best in butter_best_point_metrics() -%}
        {%- do columns.append(butter_list_position(best.metric, 'best_' ~ best.metric)
            ~ ' as best_' ~ best.metric ~ '_epoch') -%}
    {%- endfor -%}
    {{- return(columns | join(',\n')) -}}
{%- endmacro %}


{#- The published per-epoch median curves whose best and final points each
    experiment gets (marts.experiment_summary: `median_curve_best_<metric>`,
    its `_epoch`, `median_curve_final_<metric>`), with the direction of best. -#}
{% macro butter_median_curves() -%}
    {{- return([
        {'metric': 'test_loss', 'best': 'min'},
        {'metric': 'test_accuracy', 'best': 'max'},
        {'metric': 'train_loss', 'best': 'min'},
        {'metric': 'train_accuracy', 'best': 'max'},
    ]) -}}
{%- endmacro %}


{#- 1. Over a row holding a summary copy's median curves (test_loss_median,
    ...): for each curve of butter_median_curves its best finite value
    (`median_curve_best_<metric>`: the minimum of a loss, the maximum of an
    accuracy; NULL when none is finite) and its last value when finite
    (`median_curve_final_<metric>`). A select list. -#}
{% macro butter_median_curve_values() -%}
    {%- set columns = [] -%}
    {%- for curve in butter_median_curves() -%}
        {%- set median = curve.metric ~ '_median' -%}
        {%- do columns.append(butter_list_best_finite(median, curve.best) ~ ' as median_curve_best_' ~ curve.metric) -%}
        {%- do columns.append(butter_finite_or_null(butter_list_element(median, butter_array_length(median)))
            ~ ' as median_curve_final_' ~ curve.metric) -%}
    {%- endfor -%}
    {{- return(columns | join(',\n')) -}}
{%- endmacro %}


{#- 2. Over a row holding the curves and step 1's values: the earliest 1-based
    epoch of each best value (`median_curve_best_<metric>_epoch`, NULL when
    the value is NULL). A select list. -#}
{% macro butter_median_curve_epochs() -%}
    {%- set columns = [] -%}
    {%- for curve in butter_median_curves() -%}
        {%- do columns.append('cast(' ~ butter_list_position(curve.metric ~ '_median', 'median_curve_best_' ~ curve.metric)
            ~ ' as integer) as median_curve_best_' ~ curve.metric ~ '_epoch') -%}
    {%- endfor -%}
    {{- return(columns | join(',\n')) -}}
{%- endmacro %}
